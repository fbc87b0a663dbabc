//! The fake Bedrock's SigV4 verification over real sockets: requests signed by `aws-sigv4` the
//! way a correct client signs them pass, and every way of getting the signature wrong (tampered
//! body, wrong secret, unknown key, wrong region or service, single-encoded path, no signature)
//! is refused with the AWS front end's 403.

use serde_json::Value;
use switchboard_load_tests::{BedrockCredentials, FakeProvider};

use aws_sigv4::http_request::PercentEncodingMode;

use crate::common::{BedrockSigner, bedrock_url, converse_body, json_of, post_signed};

/// POSTs the default Converse body to `converse`, signed by `signer`, and returns the status,
/// the exception name from `x-amzn-errortype` and the body.
async fn attempt(provider: &FakeProvider, signer: &BedrockSigner) -> (u16, String, Value) {
    let body = serde_json::to_vec(&converse_body()).unwrap();
    let response = post_signed(&bedrock_url(provider, "converse"), &body, &body, signer).await;
    outcome(response).await
}

async fn outcome(response: reqwest::Response) -> (u16, String, Value) {
    let status = response.status().as_u16();
    let name = response
        .headers()
        .get("x-amzn-errortype")
        .map(|value| {
            value
                .to_str()
                .unwrap()
                .split(':')
                .next()
                .unwrap()
                .to_owned()
        })
        .unwrap_or_default();
    (status, name, json_of(response).await)
}

fn message(body: &Value) -> &str {
    body["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_correctly_signed_request_passes() {
    let provider = FakeProvider::start().await;

    let (status, name, _) = attempt(&provider, &BedrockSigner::default()).await;

    assert_eq!((status, name.as_str()), (200, ""));
    let recorded = &provider.requests()[0];
    let authorization = recorded.header("authorization").unwrap();
    assert!(authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDFAKEEXAMPLE/"));
    assert!(authorization.contains("/us-east-1/bedrock/aws4_request, SignedHeaders="));
    assert!(recorded.header("x-amz-date").is_some());
}

#[tokio::test]
async fn a_tampered_body_fails_the_signature() {
    let provider = FakeProvider::start().await;
    let signed = serde_json::to_vec(&converse_body()).unwrap();
    let mut altered = converse_body();
    altered["inferenceConfig"]["maxTokens"] = 4096.into();
    let sent = serde_json::to_vec(&altered).unwrap();

    let response = post_signed(
        &bedrock_url(&provider, "converse"),
        &signed,
        &sent,
        &BedrockSigner::default(),
    )
    .await;

    let (status, name, body) = outcome(response).await;
    assert_eq!((status, name.as_str()), (403, "InvalidSignatureException"));
    assert!(message(&body).starts_with(
        "The request signature we calculated does not match the signature you provided."
    ));
    assert!(
        message(&body)
            .contains("\n/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse\n"),
        "the message shows the expected canonical request: {body}"
    );
}

#[tokio::test]
async fn a_wrong_secret_fails_the_signature() {
    let provider = FakeProvider::start().await;
    let signer = BedrockSigner {
        secret_access_key: "not-the-secret".into(),
        ..BedrockSigner::default()
    };

    let (status, name, body) = attempt(&provider, &signer).await;

    assert_eq!((status, name.as_str()), (403, "InvalidSignatureException"));
    assert!(message(&body).starts_with("The request signature we calculated does not match"));
}

#[tokio::test]
async fn a_single_encoded_path_fails_the_signature() {
    let provider = FakeProvider::start().await;
    let signer = BedrockSigner {
        percent_encoding: PercentEncodingMode::Single,
        ..BedrockSigner::default()
    };

    let (status, name, body) = attempt(&provider, &signer).await;

    assert_eq!(
        (status, name.as_str()),
        (403, "InvalidSignatureException"),
        "Bedrock is not S3: the canonical path is encoded twice"
    );
    assert!(message(&body).starts_with("The request signature we calculated does not match"));
}

#[tokio::test]
async fn an_unknown_access_key_is_unrecognized() {
    let provider = FakeProvider::start().await;
    let signer = BedrockSigner {
        access_key_id: "AKIDSOMEONEELSE".into(),
        ..BedrockSigner::default()
    };

    let (status, name, body) = attempt(&provider, &signer).await;

    assert_eq!(
        (status, name.as_str()),
        (403, "UnrecognizedClientException")
    );
    assert_eq!(
        message(&body),
        "The security token included in the request is invalid."
    );
}

#[tokio::test]
async fn the_scope_must_name_the_region_and_bedrock() {
    let provider = FakeProvider::start().await;
    let region = BedrockSigner {
        region: "eu-west-1".into(),
        ..BedrockSigner::default()
    };
    let service = BedrockSigner {
        service: "bedrock-runtime".into(),
        ..BedrockSigner::default()
    };

    let (status, name, body) = attempt(&provider, &region).await;
    assert_eq!((status, name.as_str()), (403, "InvalidSignatureException"));
    assert!(message(&body).starts_with("Credential should be scoped to a valid region"));

    let (status, name, body) = attempt(&provider, &service).await;
    assert_eq!((status, name.as_str()), (403, "InvalidSignatureException"));
    assert_eq!(
        message(&body),
        "Credential should be scoped to correct service: 'bedrock'. "
    );
}

#[tokio::test]
async fn a_signed_session_token_is_accepted() {
    let provider = FakeProvider::start().await;
    let signer = BedrockSigner {
        session_token: Some("FwoGZXIvYXdzEFAKE//token".into()),
        ..BedrockSigner::default()
    };

    let (status, _, _) = attempt(&provider, &signer).await;

    assert_eq!(status, 200);
    let recorded = &provider.requests()[0];
    assert!(recorded.header("x-amz-security-token").is_some());
    assert!(
        recorded
            .header("authorization")
            .unwrap()
            .contains("x-amz-security-token")
    );
}

#[tokio::test]
async fn credentials_can_be_changed() {
    let provider = FakeProvider::start().await;
    provider.set_bedrock_credentials(BedrockCredentials {
        access_key_id: "AKIDOTHER".into(),
        secret_access_key: "other-secret".into(),
        region: "eu-central-1".into(),
    });
    let signer = BedrockSigner {
        access_key_id: "AKIDOTHER".into(),
        secret_access_key: "other-secret".into(),
        region: "eu-central-1".into(),
        ..BedrockSigner::default()
    };

    assert_eq!(attempt(&provider, &signer).await.0, 200);
    let (status, name, _) = attempt(&provider, &BedrockSigner::default()).await;
    assert_eq!(
        (status, name.as_str()),
        (403, "UnrecognizedClientException")
    );
}

#[tokio::test]
async fn an_unsigned_request_is_denied() {
    let provider = FakeProvider::start().await;

    let response = reqwest::Client::new()
        .post(bedrock_url(&provider, "converse"))
        .json(&converse_body())
        .send()
        .await
        .unwrap();

    let (status, name, body) = outcome(response).await;
    assert_eq!((status, name.as_str()), (403, "AccessDeniedException"));
    assert_eq!(body["Message"], "Authorization header is missing");
}
