//! The frame every page shares: document head, skip link, navigation, footer.

use maud::{DOCTYPE, Markup, html};

use super::STYLESHEET_PATH;
use super::csrf::CSRF_FIELD;

/// Who a page is shown to, as far as the frame is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Visitor {
    /// Someone without a session: the frame shows no personal navigation.
    Anonymous,
    /// A signed-in person: the frame shows their pages.
    SignedIn,
}

/// What the frame needs to know about the request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame<'a> {
    /// Whether the person is signed in (shows their pages and "Sign out").
    pub(crate) signed_in: bool,
    /// The CSRF token for the sign-out form (none on pages that have no form).
    pub(crate) csrf: Option<&'a str>,
    /// Seconds after which the browser loads the page again (a page following work under
    /// way); `None` for a page that stays.
    pub(crate) look_again: Option<u32>,
}

/// A whole page: `title` is the `<h1>` and (with " · Toker") the document title.
pub(crate) fn page(frame: Frame<'_>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(seconds) = frame.look_again {
                    meta http-equiv="refresh" content=(seconds);
                }
                title { (title) " · Toker" }
                link rel="stylesheet" href=(STYLESHEET_PATH);
            }
            body {
                a.skip href="#main" { "Skip to the content" }
                header.site {
                    nav aria-label="Toker" {
                        a.brand href="/" { "Toker" }
                        @if frame.signed_in {
                            a href="/me" { "You" }
                            a href="/me/matches" { "Your matches" }
                            @if let Some(token) = frame.csrf {
                                form.inline method="post" action="/me/sign-out" {
                                    input type="hidden" name=(CSRF_FIELD) value=(token);
                                    button.link type="submit" { "Sign out" }
                                }
                            }
                        }
                    }
                }
                main id="main" tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
                footer.site {
                    p {
                        "Toker matches people by the interests in what they like and share. "
                        "Everything it keeps about you can be downloaded and erased from "
                        a href="/me" { "your page" } "."
                    }
                }
            }
        }
    }
}
