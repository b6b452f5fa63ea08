//! Reading `/metrics` in tests: the Prometheus text format's sample lines, and sums over the
//! samples of a series whose labels match.

/// One sample of the exposition: its name, labels in the order rendered, and value.
pub struct Sample {
    /// The metric name (with any `_total`, `_bucket`, ... suffix).
    pub name: String,
    /// Label pairs, in the order rendered.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
}

impl Sample {
    /// The value of label `key`, if the sample has it.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether this sample is of series `name` with every label in `labels`.
    pub fn has(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        self.name == name && labels.iter().all(|(k, v)| self.label(k) == Some(v))
    }
}

/// Parses the text format's sample lines (our label values contain no `,`, `"` or `}`).
pub fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => {
                    let labels = rest
                        .trim_end_matches('}')
                        .split(',')
                        .filter(|pair| !pair.is_empty())
                        .filter_map(|pair| {
                            let (k, v) = pair.split_once('=')?;
                            Some((k.to_string(), v.trim_matches('"').to_string()))
                        })
                        .collect();
                    (name, labels)
                }
                None => (series, Vec::new()),
            };
            Some(Sample {
                name: name.to_string(),
                labels,
                value: value.parse().ok()?,
            })
        })
        .collect()
}

/// The sum of the samples of series `name` that carry every label in `labels` (summed over
/// their other labels); `None` when no sample matches.
pub fn series(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    parse(text)
        .iter()
        .filter(|s| s.has(name, labels))
        .map(|s| s.value)
        .reduce(|a, b| a + b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_and_series_sums() {
        let text = "# HELP x a\n# TYPE x counter\nx_total{queue=\"a\",outcome=\"ok\"} 2\nx_total{queue=\"b\",outcome=\"ok\"} 3.5\ny 1\n";
        let samples = parse(text);
        assert_eq!(samples.len(), 3);
        assert_eq!(samples[0].label("queue"), Some("a"));
        assert_eq!(series(text, "x_total", &[("outcome", "ok")]), Some(5.5));
        assert_eq!(series(text, "x_total", &[("queue", "b")]), Some(3.5));
        assert_eq!(series(text, "y", &[]), Some(1.0));
        assert_eq!(series(text, "x", &[]), None, "a name prefix is not a series");
    }
}
