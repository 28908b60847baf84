//! A horizontal bar chart as inline SVG, drawn by the server: labels and values are text
//! in the picture (readable without JavaScript, selectable, found by screen readers), and
//! the picture is described by its `<title>` and `<desc>`. Colours come from the
//! stylesheet's classes (the CSP forbids inline styles).

use maud::{Markup, html};

/// Width of the drawing, in SVG units.
const WIDTH: u32 = 640;
/// Room for the labels on the left.
const LABEL_WIDTH: u32 = 200;
/// Room for the values on the right.
const VALUE_WIDTH: u32 = 60;
/// Height of one bar and the gap under it.
const BAR: u32 = 22;
const GAP: u32 = 8;
/// Longest label shown whole (longer ones end in "…"; the description names them whole).
const MAX_LABEL: usize = 24;

/// A chart of `items` (label, count; drawn in the order given) titled `title`; `id` makes
/// its `<title>` and `<desc>` ids unique on the page.
pub(crate) fn bars(id: &str, title: &str, items: &[(String, u32)]) -> Markup {
    let max = items.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let track = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
    let height = u32::try_from(items.len()).unwrap_or(0) * (BAR + GAP) + GAP;
    let description = items
        .iter()
        .map(|(label, n)| format!("{label}: {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" role="img"
            viewBox=(format!("0 0 {WIDTH} {height}"))
            aria-labelledby=(format!("{title_id} {desc_id}")) {
            title id=(title_id) { (title) }
            desc id=(desc_id) { (description) }
            @for (i, (label, n)) in items.iter().enumerate() {
                @let y = u32::try_from(i).unwrap_or(0) * (BAR + GAP) + GAP;
                @let length = (u64::from(*n) * u64::from(track) / u64::from(max)).max(2);
                text x="0" y=(y + BAR - 6) { (short(label)) }
                rect.track x=(LABEL_WIDTH) y=(y) width=(track) height=(BAR) rx="3" {}
                rect.bar x=(LABEL_WIDTH) y=(y) width=(length) height=(BAR) rx="3" {}
                text.value x=(LABEL_WIDTH + track + 8) y=(y + BAR - 6) { (n) }
            }
        }
    }
}

fn short(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL {
        label.to_owned()
    } else {
        let cut: String = label.chars().take(MAX_LABEL - 1).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_scaled_to_the_largest_and_labels_escaped() {
        let items = vec![("<b>music</b>".to_owned(), 10), ("dance".to_owned(), 5)];
        let svg = bars("c", "Top categories", &items).into_string();
        assert!(svg.contains("&lt;b&gt;music&lt;/b&gt;"), "{svg}");
        assert!(!svg.contains("<b>"), "{svg}");
        assert!(svg.contains(r#"width="380""#), "{svg}");
        assert!(svg.contains(r#"width="190""#), "{svg}");
        assert!(
            svg.contains("<title id=\"c-title\">Top categories</title>"),
            "{svg}"
        );
        assert!(svg.contains("dance: 5"), "{svg}");
        assert_eq!(short(&"x".repeat(30)).chars().count(), MAX_LABEL);
    }
}
