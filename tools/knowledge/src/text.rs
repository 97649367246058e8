//! Byte offsets to human line:column positions, and CSV field positions.

/// 1-based line and column (in characters) of a byte offset in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// 1-based character column where each field of one CSV line starts. Quotes are honoured so
/// that a comma inside a quoted cell does not shift the columns of the cells after it.
pub(crate) fn csv_field_columns(line: &str) -> Vec<usize> {
    let mut columns = vec![1];
    let mut in_quotes = false;
    for (i, c) in line.chars().enumerate() {
        match c {
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => columns.push(i + 2),
            _ => {}
        }
    }
    columns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 11), (2, 6));
    }

    #[test]
    fn csv_columns_skip_quoted_commas() {
        assert_eq!(csv_field_columns("a,\"b,c\",d"), vec![1, 3, 9]);
        assert_eq!(csv_field_columns("inn,atc"), vec![1, 5]);
    }
}
