//! Stop sequences, honoured alike by every protocol that has them: a scripted text ends just
//! before the earliest occurrence of any of the request's stop sequences, and the sequence itself
//! is not sent. Empty sequences never match.
//!
//! This module only finds the cut. Which stop reason it gives and where the matched sequence is
//! reported is each protocol's business, and so is the max-tokens cut, which applies afterwards
//! to the text that is left (so when both would end the text, max tokens wins).

use std::borrow::Cow;

use super::script::Reply;

/// `text` up to the earliest occurrence of any sequence in `stops`, and the sequence found there
/// (the shortest one when several start at the same place, as it is the first to be complete).
pub(crate) fn cut_at_stop<'t, 's>(text: &'t str, stops: &[&'s str]) -> (&'t str, Option<&'s str>) {
    let earliest = stops
        .iter()
        .filter(|stop| !stop.is_empty())
        .filter_map(|stop| text.find(stop).map(|at| (at, *stop)))
        .min_by_key(|(at, stop)| (*at, stop.len()));
    match earliest {
        Some((at, stop)) => (&text[..at], Some(stop)),
        None => (text, None),
    }
}

/// The reply with its text cut at the first stop sequence; tool calls are never cut.
pub(crate) fn reply_until_stop<'r>(reply: &'r Reply, stops: &[&str]) -> Cow<'r, Reply> {
    match reply {
        Reply::Text(text) => match cut_at_stop(text, stops) {
            (_, None) => Cow::Borrowed(reply),
            (kept, Some(_)) => Cow::Owned(Reply::Text(kept.to_owned())),
        },
        Reply::ToolCalls(_) => Cow::Borrowed(reply),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_sequence_wins_and_is_not_kept() {
        let text = "one two END three STOP";
        assert_eq!(
            cut_at_stop(text, &["STOP", "END"]),
            ("one two ", Some("END"))
        );
        assert_eq!(cut_at_stop(text, &["nothing"]), (text, None));
        assert_eq!(cut_at_stop(text, &[]), (text, None));
        assert_eq!(
            cut_at_stop(text, &["", "three"]),
            ("one two END ", Some("three"))
        );
        assert_eq!(cut_at_stop(text, &["one"]), ("", Some("one")));
    }

    #[test]
    fn at_the_same_place_the_shorter_sequence_wins() {
        assert_eq!(cut_at_stop("a.b", &[".b", "."]), ("a", Some(".")));
    }

    #[test]
    fn tool_calls_are_not_cut() {
        let calls = Reply::ToolCalls(vec![("f".into(), "{\"a\":\"END\"}".into())]);
        assert!(matches!(
            reply_until_stop(&calls, &["END"]),
            Cow::Borrowed(_)
        ));
        let text = Reply::Text("keep END drop".into());
        assert!(
            matches!(reply_until_stop(&text, &["END"]).as_ref(), Reply::Text(kept) if kept == "keep ")
        );
    }
}
