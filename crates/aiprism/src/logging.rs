//! Log output: human-readable lines by default, one JSON object per line with `AIPRISM_LOG_FORMAT=json`.

use aiprism_app::Settings;
use aiprism_app::settings::LogFormat;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `LOG_LEVEL` is a tracing filter (`info`, `debug`, `aiprism=debug`...);
/// an unusable filter falls back to `info` with a warning rather than stopping the server.
pub fn init(settings: &Settings) {
    let (filter, bad_filter) = match EnvFilter::try_new(&settings.observability.log_level) {
        Ok(f) => (f, false),
        Err(_) => (EnvFilter::new("info"), true),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match settings.observability.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
    if installed.is_ok() && bad_filter {
        tracing::warn!(level = %settings.observability.log_level, "LOG_LEVEL is not a valid filter; using info");
    }
}
