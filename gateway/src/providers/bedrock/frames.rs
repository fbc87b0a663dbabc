//! AWS event-stream framing: a byte stream in, `(event type, JSON payload)` pairs out. Frames can
//! straddle network chunks, so bytes accumulate until the decoder has a whole frame. An
//! `exception` frame becomes an error carrying its type and message.

use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
use aws_smithy_types::event_stream::{HeaderValue, Message};
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

fn header<'a>(message: &'a Message, name: &str) -> Option<&'a str> {
    message
        .headers()
        .iter()
        .find(|header| header.name().as_str() == name)
        .and_then(|header| match header.value() {
            HeaderValue::String(value) => Some(value.as_str()),
            _ => None,
        })
}

/// Splits `bytes` into event-stream messages.
pub fn events<S>(bytes: S) -> impl Stream<Item = Result<(String, String), String>> + Send
where
    S: Stream<Item = Result<Bytes, reqwest::Error>> + Send + Unpin + 'static,
{
    let state = (bytes, BytesMut::new(), MessageFrameDecoder::new(), false);
    futures_util::stream::unfold(
        state,
        |(mut bytes, mut buffer, mut decoder, failed)| async move {
            if failed {
                return None;
            }
            loop {
                match decoder.decode_frame(&mut buffer) {
                    Ok(DecodedFrame::Complete(message)) => {
                        let payload = String::from_utf8_lossy(message.payload()).into_owned();
                        let item = match header(&message, ":message-type") {
                            Some("exception") | Some("error") => {
                                let kind = header(&message, ":exception-type")
                                    .or_else(|| header(&message, ":error-code"))
                                    .unwrap_or("exception");
                                Err(format!("{kind}: {payload}"))
                            }
                            _ => Ok((
                                header(&message, ":event-type")
                                    .unwrap_or_default()
                                    .to_owned(),
                                payload,
                            )),
                        };
                        let failed = item.is_err();
                        return Some((item, (bytes, buffer, decoder, failed)));
                    }
                    Ok(DecodedFrame::Incomplete) => {}
                    Err(error) => {
                        return Some((
                            Err(format!("malformed event-stream frame: {error}")),
                            (bytes, buffer, decoder, true),
                        ));
                    }
                }
                match bytes.next().await {
                    Some(Ok(chunk)) => buffer.extend_from_slice(&chunk),
                    Some(Err(error)) => {
                        let reason = crate::routing::failure::plain_reason(&error);
                        return Some((Err(reason), (bytes, buffer, decoder, true)));
                    }
                    None if buffer.is_empty() => return None,
                    None => {
                        return Some((
                            Err("the stream ended inside an event frame".to_owned()),
                            (bytes, buffer, decoder, true),
                        ));
                    }
                }
            }
        },
    )
}
