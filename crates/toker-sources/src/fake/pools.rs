//! The fixed tables the fake source draws from, aligned with [`CATEGORIES`].
//!
//! Every table is a `const`, so generating a profile never builds or allocates a table.
//! Hashtag pools are disjoint: a topical hashtag names exactly one category, which lets
//! tests (and people reading the data) tell which interest a tag came from.

use fake::locales::{DE_DE, Data, EN, FR_FR, IT_IT, NL_NL, PT_BR};
use toker_model::Platform;
use toker_model::taxonomy::CATEGORIES;

/// How many categories the taxonomy has.
pub(super) const CATEGORY_COUNT: usize = CATEGORIES.len();

/// Topical hashtags per category (index = the category's index in [`CATEGORIES`]), most
/// popular first.
#[rustfmt::skip]
pub(super) const HASHTAGS: [&[&str]; CATEGORY_COUNT] = [
    // Technology
    &[
        "#tech", "#technology", "#coding", "#programming", "#ai", "#gadgets", "#techtok",
        "#developer", "#python", "#javascript", "#machinelearning", "#software", "#smartphone",
        "#linux",
    ],
    // Education
    &[
        "#learnontiktok", "#education", "#studytok", "#studytips", "#learning", "#edutok",
        "#history", "#didyouknow", "#languagelearning", "#teacher", "#math", "#students",
        "#booktok", "#facts",
    ],
    // Music
    &[
        "#music", "#newmusic", "#singer", "#guitar", "#piano", "#producer", "#hiphop", "#rap",
        "#songwriter", "#cover", "#musician", "#beats", "#livemusic", "#vinyl",
    ],
    // Dance
    &[
        "#dance", "#dancechallenge", "#choreography", "#dancer", "#ballet", "#hiphopdance",
        "#kpopdance", "#salsa", "#breakdance", "#dancetutorial", "#dancetok",
        "#contemporarydance", "#tapdance", "#bachata",
    ],
    // Comedy
    &[
        "#comedy", "#funny", "#meme", "#memes", "#skit", "#standup", "#prank", "#jokes",
        "#humor", "#lol", "#relatable", "#sketchcomedy", "#parody", "#comedian",
    ],
    // Food
    &[
        "#food", "#foodie", "#recipe", "#cooking", "#foodtok", "#baking", "#easyrecipe",
        "#vegan", "#streetfood", "#dessert", "#homecooking", "#mukbang", "#chef", "#breakfast",
    ],
    // Sports
    &[
        "#sports", "#football", "#soccer", "#basketball", "#nba", "#nfl", "#tennis",
        "#formula1", "#cricket", "#baseball", "#golf", "#ufc", "#highlights", "#olympics",
    ],
    // Gaming
    &[
        "#gaming", "#gamer", "#videogames", "#twitch", "#minecraft", "#fortnite", "#esports",
        "#pcgaming", "#ps5", "#nintendo", "#xbox", "#speedrun", "#retrogaming", "#gamingsetup",
    ],
    // Travel
    &[
        "#travel", "#traveltok", "#wanderlust", "#backpacking", "#roadtrip", "#vacation",
        "#travelgram", "#beachlife", "#citybreak", "#solotravel", "#travelvlog", "#bucketlist",
        "#hiddengems", "#vanlife",
    ],
    // Fashion
    &[
        "#fashion", "#ootd", "#style", "#outfit", "#streetwear", "#thrift", "#fashiontok",
        "#outfitinspo", "#vintage", "#sneakers", "#menswear", "#lookbook", "#haul", "#grwm",
    ],
    // Beauty
    &[
        "#beauty", "#makeup", "#skincare", "#makeuptutorial", "#nails", "#hair", "#hairstyle",
        "#skincareroutine", "#glowup", "#lipstick", "#beautytips", "#cosmetics", "#eyeliner",
        "#fragrance",
    ],
    // Fitness
    &[
        "#fitness", "#gym", "#workout", "#gymtok", "#fitnessmotivation", "#bodybuilding",
        "#powerlifting", "#running", "#yoga", "#homeworkout", "#crossfit", "#calisthenics",
        "#legday", "#gains",
    ],
    // Health
    &[
        "#health", "#mentalhealth", "#wellness", "#nutrition", "#selfcare", "#healthyliving",
        "#sleep", "#therapy", "#anxiety", "#mindfulness", "#meditation", "#doctor",
        "#healthtips", "#guthealth",
    ],
    // Science
    &[
        "#science", "#physics", "#chemistry", "#biology", "#space", "#astronomy", "#nasa",
        "#scienceexperiment", "#stem", "#engineering", "#research", "#quantum", "#evolution",
        "#geology",
    ],
    // Art
    &[
        "#art", "#artist", "#drawing", "#painting", "#digitalart", "#sketch", "#illustration",
        "#arttok", "#watercolor", "#procreate", "#animeart", "#sculpture", "#streetart",
        "#artwork",
    ],
    // Photography
    &[
        "#photography", "#photo", "#camera", "#photographer", "#portrait",
        "#landscapephotography", "#streetphotography", "#canon", "#sonyalpha", "#nikon",
        "#filmphotography", "#photoediting", "#lightroom", "#goldenhour",
    ],
    // Pets
    &[
        "#pets", "#dog", "#cat", "#puppy", "#kitten", "#dogsoftiktok", "#catsoftiktok",
        "#petlover", "#doglover", "#catlover", "#rescuedog", "#hamster", "#parrot",
        "#goldenretriever",
    ],
    // Nature
    &[
        "#nature", "#wildlife", "#hiking", "#outdoors", "#mountains", "#forest", "#ocean",
        "#sunset", "#camping", "#birds", "#animals", "#garden", "#plants", "#earth",
    ],
    // Finance
    &[
        "#finance", "#investing", "#money", "#stocks", "#crypto", "#bitcoin",
        "#personalfinance", "#budgeting", "#realestate", "#financetok", "#passiveincome",
        "#trading", "#savings", "#entrepreneur",
    ],
    // Politics
    &[
        "#politics", "#election", "#democracy", "#government", "#policy", "#vote", "#congress",
        "#parliament", "#debate", "#politicalnews", "#activism", "#humanrights",
        "#climatepolicy", "#geopolitics",
    ],
    // News
    &[
        "#news", "#breakingnews", "#worldnews", "#currentevents", "#headlines", "#journalism",
        "#update", "#newsupdate", "#localnews", "#weather", "#economy", "#dailynews", "#report",
        "#factcheck",
    ],
    // Automotive
    &[
        "#cars", "#carsoftiktok", "#automotive", "#supercar", "#jdm", "#carguy", "#mustang",
        "#bmw", "#tesla", "#motorcycle", "#carreview", "#carmods", "#electricvehicles",
        "#racing",
    ],
    // DIY
    &[
        "#diy", "#crafts", "#homedecor", "#woodworking", "#diyprojects", "#lifehacks",
        "#upcycling", "#homeimprovement", "#knitting", "#crochet", "#sewing", "#3dprinting",
        "#renovation", "#organization",
    ],
    // Parenting
    &[
        "#parenting", "#momlife", "#dadlife", "#parentingtips", "#baby", "#toddler",
        "#motherhood", "#kids", "#family", "#newborn", "#momtok", "#dadtok", "#pregnancy",
        "#homeschool",
    ],
    // Movies
    &[
        "#movies", "#film", "#cinema", "#netflix", "#moviereview", "#marvel", "#horror",
        "#anime", "#filmtok", "#movietok", "#series", "#tvshow", "#oscars", "#disney",
    ],
];

/// For each category, the one a video of it most often also carries (Music → Dance).
pub(super) const RELATED: [usize; CATEGORY_COUNT] = [
    13, // Technology → Science
    13, // Education → Science
    3,  // Music → Dance
    2,  // Dance → Music
    24, // Comedy → Movies
    12, // Food → Health
    11, // Sports → Fitness
    0,  // Gaming → Technology
    15, // Travel → Photography
    10, // Fashion → Beauty
    9,  // Beauty → Fashion
    12, // Fitness → Health
    11, // Health → Fitness
    1,  // Science → Education
    15, // Art → Photography
    14, // Photography → Art
    17, // Pets → Nature
    8,  // Nature → Travel
    20, // Finance → News
    20, // Politics → News
    19, // News → Politics
    0,  // Automotive → Technology
    14, // DIY → Art
    1,  // Parenting → Education
    4,  // Movies → Comedy
];

/// Words people put in handles to say what they are about (`emma.cooks`).
pub(super) const HANDLE_WORDS: [&[&str]; CATEGORY_COUNT] = [
    &["tech", "dev", "codes", "bytes"],
    &["learns", "teaches", "studies"],
    &["beats", "music", "sings", "keys"],
    &["dance", "moves", "dancer"],
    &["lol", "jokes", "funny"],
    &["eats", "cooks", "kitchen", "bakes"],
    &["sports", "ball", "fan"],
    &["games", "plays", "gg"],
    &["travels", "roams", "abroad"],
    &["style", "fits", "closet"],
    &["glam", "beauty", "glow"],
    &["lifts", "fit", "runs"],
    &["well", "health", "calm"],
    &["science", "lab", "geek"],
    &["art", "draws", "paints"],
    &["shoots", "photo", "lens"],
    &["pets", "paws", "dogs"],
    &["wild", "hikes", "outdoors"],
    &["money", "invests", "stocks"],
    &["politics", "votes", "civic"],
    &["news", "daily", "reports"],
    &["cars", "drives", "garage"],
    &["makes", "diy", "builds"],
    &["mom", "dad", "family"],
    &["films", "movies", "cinema"],
];

/// Hashtags that say nothing about the content, added for reach on some platforms.
pub(super) const fn generic_hashtags(platform: Platform) -> &'static [&'static str] {
    match platform {
        Platform::TikTok => &["#fyp", "#foryou", "#foryoupage", "#viral", "#trending"],
        Platform::Instagram => &[
            "#instagood",
            "#photooftheday",
            "#explore",
            "#instadaily",
            "#love",
        ],
        Platform::X => &[],
    }
}

/// First and last names per locale, from the `fake` crate (English twice as likely).
pub(super) const NAMES: [(&[&str], &[&str]); 7] = [
    (EN::NAME_FIRST_NAME, EN::NAME_LAST_NAME),
    (EN::NAME_FIRST_NAME, EN::NAME_LAST_NAME),
    (FR_FR::NAME_FIRST_NAME, FR_FR::NAME_LAST_NAME),
    (DE_DE::NAME_FIRST_NAME, DE_DE::NAME_LAST_NAME),
    (IT_IT::NAME_FIRST_NAME, IT_IT::NAME_LAST_NAME),
    (PT_BR::NAME_FIRST_NAME, PT_BR::NAME_LAST_NAME),
    (NL_NL::NAME_FIRST_NAME, NL_NL::NAME_LAST_NAME),
];

/// Decorations some people add to their display name.
pub(super) const PSEUDO_DECORATIONS: [&str; 6] = [" ✨", " 🌿", " 🎧", " ⚽", " 📷", " 🇧🇷"];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn hashtag_pools_are_disjoint_lowercase_and_hash_prefixed() {
        let mut seen = HashSet::new();
        for (category, pool) in CATEGORIES.iter().zip(HASHTAGS) {
            assert!(pool.len() >= 10, "{category} has a small pool");
            for tag in pool {
                assert!(tag.starts_with('#') && tag.len() > 1, "{tag}");
                assert_eq!(*tag, tag.to_lowercase(), "{tag}");
                assert!(seen.insert(*tag), "{tag} is in two pools");
            }
        }
        for platform in Platform::ALL {
            for tag in generic_hashtags(platform) {
                assert!(!seen.contains(tag), "generic {tag} is also topical");
            }
        }
    }

    #[test]
    fn related_categories_are_other_categories() {
        for (i, related) in RELATED.iter().enumerate() {
            assert_ne!(i, *related, "{} relates to itself", CATEGORIES[i]);
        }
    }

    #[test]
    fn name_tables_are_not_empty() {
        for (first, last) in NAMES {
            assert!(!first.is_empty() && !last.is_empty());
        }
    }
}
