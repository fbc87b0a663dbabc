//! Parameter paths for error messages (`messages[1].content[0].type`), built on the stack and
//! formatted only when a request is actually rejected, so validating a good request allocates
//! nothing for them.

use std::fmt;

#[derive(Clone, Copy, Debug)]
pub(crate) enum Path<'a> {
    Root(&'a str),
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    pub(crate) fn key(&'a self, key: &'a str) -> Path<'a> {
        Path::Key(self, key)
    }

    pub(crate) fn index(&'a self, index: usize) -> Path<'a> {
        Path::Index(self, index)
    }

    /// `messages.1.tool_calls.0`: the style OpenAI uses in schema errors.
    pub(crate) fn dotted(&self) -> String {
        match self {
            Path::Root(name) => (*name).to_owned(),
            Path::Key(parent, key) => format!("{}.{key}", parent.dotted()),
            Path::Index(parent, index) => format!("{}.{index}", parent.dotted()),
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root(name) => f.write_str(name),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Path;

    #[test]
    fn formats_both_styles() {
        let root = Path::Root("messages");
        let message = root.index(1);
        let calls = message.key("tool_calls");
        let call = calls.index(0);
        assert_eq!(call.to_string(), "messages[1].tool_calls[0]");
        assert_eq!(call.dotted(), "messages.1.tool_calls.0");
    }
}
