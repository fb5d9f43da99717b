//! Byte offsets in a runbook's text as the 1-based lines and columns errors name.

/// Byte offset → 1-based line and column.
pub struct LineIndex {
    starts: Vec<usize>,
    text_len: usize,
    text: String,
}

impl LineIndex {
    /// Index the lines of `text`.
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex {
            starts,
            text_len: text.len(),
            text: text.to_string(),
        }
    }

    /// 1-based (line, column) of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text_len);
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        (line, offset - self.starts[line - 1] + 1)
    }

    /// 1-based (line, column) where the content of the string value at `offset` begins: past
    /// its opening quote(s), and past the newline TOML trims right after `'''` or `"""`.
    pub fn string_content_start(&self, offset: usize) -> (usize, usize) {
        let rest = self.text.get(offset..).unwrap_or_default();
        let skip = if rest.starts_with("'''") || rest.starts_with("\"\"\"") {
            let after = &rest[3..];
            3 + if after.starts_with("\r\n") {
                2
            } else {
                usize::from(after.starts_with('\n'))
            }
        } else {
            usize::from(rest.starts_with(['\'', '"']))
        };
        self.position(offset + skip)
    }
}
