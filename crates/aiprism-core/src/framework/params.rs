//! The typed parameters of each built-in rule kind, with their defaults and allowed ranges.
//!
//! Parameters are parsed from the `params` table of a rule in a framework's TOML, per kind, with unknown
//! keys rejected, so a typo in a framework file fails at load time instead of silently doing nothing.

use serde::Deserialize;

crate::string_enum! {
    /// The built-in deterministic checks a framework rule can use. Each kind has its own parameters
    /// ([`RuleParams`]); the rule engine in [`crate::rules`] implements one check per kind.
    pub enum RuleKind as "rule kind" {
        /// Unfilled template text: `XX-XXX`, `[NAME ...]`, `TBD`, `TODO`, `<insert ...>`, `???`, lorem ipsum.
        Placeholder = "placeholder",
        /// A section with no text, or nothing but whitespace and placeholders.
        EmptySection = "empty-section",
        /// A timeline without dates or times, with out-of-order entries, or with unexplained gaps.
        TimelineDates = "timeline-dates",
        /// Action items (list lines) that name no owner or no due date.
        ActionOwnerDate = "action-owner-date",
        /// A root-cause section without any causal language (it only restates symptoms).
        RootCauseLanguage = "root-cause-language",
        /// Vague quantifiers ("several", "many", "significant") where numbers are expected.
        VagueQuantifier = "vague-quantifier",
        /// Sentences longer than a word limit.
        LongSentence = "long-sentence",
        /// Acronyms that are never expanded anywhere in the document.
        UndefinedAcronym = "undefined-acronym",
    }
}

/// Parameters of one rule, typed by its kind. The kind of a rule is the variant of its parameters, so
/// the two can never disagree.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleParams {
    /// Parameters of [`RuleKind::Placeholder`].
    Placeholder(PlaceholderParams),
    /// Parameters of [`RuleKind::EmptySection`].
    EmptySection(EmptySectionParams),
    /// Parameters of [`RuleKind::TimelineDates`].
    TimelineDates(TimelineParams),
    /// Parameters of [`RuleKind::ActionOwnerDate`].
    ActionOwnerDate(ActionParams),
    /// Parameters of [`RuleKind::RootCauseLanguage`].
    RootCauseLanguage(RootCauseParams),
    /// Parameters of [`RuleKind::VagueQuantifier`].
    VagueQuantifier(VagueParams),
    /// Parameters of [`RuleKind::LongSentence`].
    LongSentence(LongSentenceParams),
    /// Parameters of [`RuleKind::UndefinedAcronym`].
    UndefinedAcronym(AcronymParams),
}

impl RuleParams {
    /// The kind these parameters belong to.
    pub fn kind(&self) -> RuleKind {
        match self {
            RuleParams::Placeholder(_) => RuleKind::Placeholder,
            RuleParams::EmptySection(_) => RuleKind::EmptySection,
            RuleParams::TimelineDates(_) => RuleKind::TimelineDates,
            RuleParams::ActionOwnerDate(_) => RuleKind::ActionOwnerDate,
            RuleParams::RootCauseLanguage(_) => RuleKind::RootCauseLanguage,
            RuleParams::VagueQuantifier(_) => RuleKind::VagueQuantifier,
            RuleParams::LongSentence(_) => RuleKind::LongSentence,
            RuleParams::UndefinedAcronym(_) => RuleKind::UndefinedAcronym,
        }
    }

    /// The default parameters of a kind, used when a rule has no `params` table.
    pub fn default_for(kind: RuleKind) -> RuleParams {
        match kind {
            RuleKind::Placeholder => RuleParams::Placeholder(PlaceholderParams::default()),
            RuleKind::EmptySection => RuleParams::EmptySection(EmptySectionParams::default()),
            RuleKind::TimelineDates => RuleParams::TimelineDates(TimelineParams::default()),
            RuleKind::ActionOwnerDate => RuleParams::ActionOwnerDate(ActionParams::default()),
            RuleKind::RootCauseLanguage => RuleParams::RootCauseLanguage(RootCauseParams::default()),
            RuleKind::VagueQuantifier => RuleParams::VagueQuantifier(VagueParams::default()),
            RuleKind::LongSentence => RuleParams::LongSentence(LongSentenceParams::default()),
            RuleKind::UndefinedAcronym => RuleParams::UndefinedAcronym(AcronymParams::default()),
        }
    }

    /// Parses the `params` table of a rule of `kind`, rejecting unknown keys. The error is the
    /// deserializer's message (it names the offending key).
    pub(crate) fn from_table(kind: RuleKind, table: toml::Table) -> Result<RuleParams, String> {
        fn parse<T: for<'de> Deserialize<'de>>(table: toml::Table) -> Result<T, String> {
            table
                .try_into::<T>()
                .map_err(|e| e.to_string().trim().to_string())
        }
        Ok(match kind {
            RuleKind::Placeholder => RuleParams::Placeholder(parse(table)?),
            RuleKind::EmptySection => RuleParams::EmptySection(parse(table)?),
            RuleKind::TimelineDates => RuleParams::TimelineDates(parse(table)?),
            RuleKind::ActionOwnerDate => RuleParams::ActionOwnerDate(parse(table)?),
            RuleKind::RootCauseLanguage => RuleParams::RootCauseLanguage(parse(table)?),
            RuleKind::VagueQuantifier => RuleParams::VagueQuantifier(parse(table)?),
            RuleKind::LongSentence => RuleParams::LongSentence(parse(table)?),
            RuleKind::UndefinedAcronym => RuleParams::UndefinedAcronym(parse(table)?),
        })
    }

    /// Checks value ranges; regular expressions are checked when the rule is compiled. Returns the
    /// parameter name and what is wrong with it.
    pub(crate) fn check_ranges(&self) -> Result<(), (String, String, String)> {
        fn range(name: &str, value: u32, lo: u32, hi: u32) -> Result<(), (String, String, String)> {
            if (lo..=hi).contains(&value) {
                Ok(())
            } else {
                Err((
                    name.to_string(),
                    value.to_string(),
                    format!("expected {lo} to {hi}"),
                ))
            }
        }
        fn non_empty(name: &str, items: &[String]) -> Result<(), (String, String, String)> {
            match items.iter().find(|s| s.trim().is_empty()) {
                Some(s) => Err((
                    name.to_string(),
                    format!("{s:?}"),
                    "entries must not be empty".into(),
                )),
                None => Ok(()),
            }
        }
        match self {
            RuleParams::Placeholder(p) => {
                non_empty("extra_patterns", &p.extra_patterns)?;
                non_empty("ignore", &p.ignore)
            }
            RuleParams::EmptySection(p) => range("min_words", p.min_words, 1, 100),
            RuleParams::TimelineDates(p) => {
                range("max_gap_hours", p.max_gap_hours, 1, 8760)?;
                non_empty("explanations", &p.explanations)
            }
            RuleParams::ActionOwnerDate(p) => {
                range("min_words", p.min_words, 1, 50)?;
                if !p.require_owner && !p.require_date {
                    return Err((
                        "require_owner".into(),
                        "false".into(),
                        "at least one of require_owner and require_date must be true".into(),
                    ));
                }
                non_empty("owner_patterns", &p.owner_patterns)?;
                non_empty("date_patterns", &p.date_patterns)
            }
            RuleParams::RootCauseLanguage(p) => non_empty("extra_phrases", &p.extra_phrases),
            RuleParams::VagueQuantifier(p) => {
                if p.phrases.is_empty() {
                    return Err((
                        "phrases".into(),
                        "[]".into(),
                        "at least one phrase is needed".into(),
                    ));
                }
                non_empty("phrases", &p.phrases)
            }
            RuleParams::LongSentence(p) => range("max_words", p.max_words, 10, 200),
            RuleParams::UndefinedAcronym(p) => {
                range("min_letters", p.min_letters, 2, 10)?;
                range("max_letters", p.max_letters, p.min_letters, 10)?;
                match p
                    .allow
                    .iter()
                    .find(|a| a.is_empty() || a.chars().any(char::is_whitespace))
                {
                    Some(a) => Err((
                        "allow".into(),
                        format!("{a:?}"),
                        "entries must be single words".into(),
                    )),
                    None => Ok(()),
                }
            }
        }
    }
}

/// Parameters of the placeholder check.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlaceholderParams {
    /// Whether the built-in patterns (`XX-XXX`, `[NAME]`, `TBD`, `TODO`, `<insert>`, `???`, ...) are used.
    pub builtin: bool,
    /// More patterns (regular expressions) that mark unfilled template text in this framework's documents.
    pub extra_patterns: Vec<String>,
    /// Exact strings never reported even when a pattern matches them (e.g. a product called "XXL").
    pub ignore: Vec<String>,
}

impl Default for PlaceholderParams {
    fn default() -> Self {
        Self {
            builtin: true,
            extra_patterns: Vec::new(),
            ignore: Vec::new(),
        }
    }
}

/// Parameters of the empty-section check.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmptySectionParams {
    /// Fewer words than this (placeholders not counted) makes the section empty.
    pub min_words: u32,
    /// Whether a section immediately followed by its own sub-sections is exempt (its content lives there).
    pub skip_parents: bool,
}

impl Default for EmptySectionParams {
    fn default() -> Self {
        Self {
            min_words: 1,
            skip_parents: true,
        }
    }
}

/// How ambiguous numeric dates such as `03/04/2024` are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DateOrder {
    /// Month first unless the section shows an unambiguous day-first date.
    #[default]
    Auto,
    /// Always month/day/year.
    Mdy,
    /// Always day/month/year.
    Dmy,
}

/// Parameters of the timeline check.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TimelineParams {
    /// A gap longer than this between consecutive dated entries, with no explanation nearby, is reported.
    pub max_gap_hours: u32,
    /// Whether Saturdays and Sundays are left out of gap lengths (work on business days is normal).
    pub skip_weekends: bool,
    /// Whether entries listed out of chronological order are reported.
    pub check_order: bool,
    /// Whether a timeline with no date or time at all is reported.
    pub require_dates: bool,
    /// More phrases that explain a gap (added to the built-in ones such as "weekend" or "no activity").
    pub explanations: Vec<String>,
    /// How ambiguous numeric dates are read.
    pub date_order: DateOrder,
}

impl Default for TimelineParams {
    fn default() -> Self {
        Self {
            max_gap_hours: 24,
            skip_weekends: true,
            check_order: true,
            require_dates: true,
            explanations: Vec::new(),
            date_order: DateOrder::Auto,
        }
    }
}

/// Parameters of the action-item check.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ActionParams {
    /// Whether an item must name an owner.
    pub require_owner: bool,
    /// Whether an item must carry a due date.
    pub require_date: bool,
    /// Items with fewer words are not treated as actions (sub-headings, stray fragments).
    pub min_words: u32,
    /// More regular expressions that count as naming an owner.
    pub owner_patterns: Vec<String>,
    /// More regular expressions that count as giving a due date.
    pub date_patterns: Vec<String>,
}

impl Default for ActionParams {
    fn default() -> Self {
        Self {
            require_owner: true,
            require_date: true,
            min_words: 3,
            owner_patterns: Vec::new(),
            date_patterns: Vec::new(),
        }
    }
}

/// Parameters of the root-cause language check.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RootCauseParams {
    /// More phrases that count as causal language (added to "because", "due to", "caused by", ...).
    pub extra_phrases: Vec<String>,
    /// Whether the text of the section's sub-sections counts too (analysis often sits in sub-headings).
    pub include_subsections: bool,
}

impl Default for RootCauseParams {
    fn default() -> Self {
        Self {
            extra_phrases: Vec::new(),
            include_subsections: true,
        }
    }
}

/// The vague quantifiers reported when a framework does not list its own.
pub const DEFAULT_VAGUE_PHRASES: &[&str] = &[
    "several",
    "many",
    "a few",
    "a couple of",
    "some customers",
    "some users",
    "some accounts",
    "some sellers",
    "some teams",
    "some cases",
    "some orders",
    "significant",
    "significantly",
    "a lot of",
    "lots of",
    "various",
    "numerous",
    "minimal impact",
    "minor impact",
    "limited impact",
    "large number",
    "large numbers",
    "small number",
    "a number of",
    "the majority of",
    "a handful of",
    "substantial",
    "considerable",
    "countless",
];

/// Parameters of the vague-quantifier check.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VagueParams {
    /// The phrases reported (matched case-insensitively on word boundaries).
    pub phrases: Vec<String>,
    /// Whether a phrase with a number right next to it ("many (305) teams") is let through.
    pub skip_when_number_nearby: bool,
}

impl Default for VagueParams {
    fn default() -> Self {
        Self {
            phrases: DEFAULT_VAGUE_PHRASES.iter().map(|s| s.to_string()).collect(),
            skip_when_number_nearby: true,
        }
    }
}

/// Parameters of the long-sentence check.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LongSentenceParams {
    /// Sentences with more words than this are reported (exactly this many is fine).
    pub max_words: u32,
}

impl Default for LongSentenceParams {
    fn default() -> Self {
        Self { max_words: 40 }
    }
}

/// Parameters of the undefined-acronym check.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AcronymParams {
    /// More acronyms every reader of this framework's documents knows (added to the built-in list).
    pub allow: Vec<String>,
    /// Whether the built-in list of universal acronyms (US, API, URL, UTC, ...) is used.
    pub use_default_allow: bool,
    /// Fewest capital letters in an acronym.
    pub min_letters: u32,
    /// Most capital letters in an acronym.
    pub max_letters: u32,
}

impl Default for AcronymParams {
    fn default() -> Self {
        Self {
            allow: Vec::new(),
            use_default_allow: true,
            min_letters: 2,
            max_letters: 6,
        }
    }
}
