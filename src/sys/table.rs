//! One plain-text table renderer (status, audit, doctor): columns padded to their widest
//! cell (counted in chars), two spaces between columns, the last column unpadded, no trailing
//! spaces. A painter may colour a padded cell (the padding is measured before painting).

/// How a column is aligned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Right,
}

/// A table under construction.
#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    head: Option<Vec<String>>,
    rows: Vec<Vec<String>>,
    align: Vec<Align>,
    max: Vec<Option<usize>>,
}

impl Table {
    /// A table with a header row.
    pub(crate) fn new<S: AsRef<str>>(head: &[S]) -> Table {
        let head: Vec<String> = head.iter().map(|s| s.as_ref().to_string()).collect();
        let n = head.len();
        Table {
            head: Some(head),
            rows: Vec::new(),
            align: vec![Align::Left; n],
            max: vec![None; n],
        }
    }
    /// A table without a header row, of `columns` columns.
    pub(crate) fn headless(columns: usize) -> Table {
        Table {
            head: None,
            rows: Vec::new(),
            align: vec![Align::Left; columns],
            max: vec![None; columns],
        }
    }
    /// Aligns column `col` to the right.
    pub(crate) fn right(mut self, col: usize) -> Table {
        if let Some(a) = self.align.get_mut(col) {
            *a = Align::Right;
        }
        self
    }
    /// Pads column `col` to at most `width` chars (longer cells overflow).
    pub(crate) fn max_width(mut self, col: usize, width: usize) -> Table {
        if let Some(m) = self.max.get_mut(col) {
            *m = Some(width);
        }
        self
    }
    /// Adds a row (missing cells are empty).
    pub(crate) fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }
    /// The column widths.
    pub(crate) fn widths(&self) -> Vec<usize> {
        let n = self.align.len();
        let mut w = vec![0usize; n];
        for r in self.head.iter().chain(self.rows.iter()) {
            for (i, c) in r.iter().enumerate().take(n) {
                w[i] = w[i].max(c.chars().count());
            }
        }
        for (w, m) in w.iter_mut().zip(&self.max) {
            if let Some(m) = m {
                *w = (*w).min(*m);
            }
        }
        w
    }
    /// Where column `col` starts (for continuation lines under it).
    pub(crate) fn offset(&self, col: usize) -> usize {
        self.widths().iter().take(col).map(|w| w + 2).sum()
    }
    /// The text, one line per row.
    pub(crate) fn render(&self) -> String {
        self.render_painted(|_, _, cell| cell.to_string())
    }
    /// The text; `paint(row, col, padded)` may wrap each padded cell (row `None` is the header).
    pub(crate) fn render_painted(
        &self,
        paint: impl Fn(Option<usize>, usize, &str) -> String,
    ) -> String {
        let w = self.widths();
        let n = w.len();
        let mut out = String::new();
        let head = self.head.iter().map(|h| (None, h));
        let rows = self.rows.iter().enumerate().map(|(i, r)| (Some(i), r));
        for (ri, r) in head.chain(rows) {
            let mut l = String::new();
            for (col, width) in w.iter().copied().enumerate() {
                let c = r.get(col).map(String::as_str).unwrap_or("");
                if col + 1 == n {
                    l.push_str(&paint(ri, col, c));
                    break;
                }
                let padded = match self.align[col] {
                    Align::Left => format!("{c:<width$}"),
                    Align::Right => format!("{c:>width$}"),
                };
                l.push_str(&paint(ri, col, &padded));
                l.push_str("  ");
            }
            out.push_str(l.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn pads_aligns_and_trims() {
        let mut t = Table::new(&["A", "NUM", "NOTE"]).right(1);
        t.row(["x", "7", ""]);
        t.row(["long", "123", "n"]);
        assert_eq!(t.render(), "A     NUM  NOTE\nx       7\nlong  123  n\n");
        assert_eq!(t.offset(2), 11);
        let mut t = Table::headless(2).max_width(0, 2);
        t.row(["abcd", "z"]);
        t.row(["a", "y"]);
        assert_eq!(t.render(), "abcd  z\na   y\n");
    }
}
