//! Review frameworks: the built-in ones (shipped in the binary) and those users upload as TOML. Parsed
//! frameworks are cached (compiling their patterns is not free and every section job needs one).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use aiprism_core::User;
use aiprism_core::framework::{BUILTIN_SOURCES, Framework, builtin_frameworks};
use aiprism_store::StoredFramework;
use chrono::{DateTime, Utc};

use crate::{App, AppError};

/// A framework as listed.
#[derive(Debug, Clone)]
pub struct FrameworkInfo {
    /// The parsed framework.
    pub framework: Arc<Framework>,
    /// Shipped with aiprism (cannot be replaced) or uploaded.
    pub builtin: bool,
    /// The TOML source.
    pub source: String,
}

/// Parsed uploaded frameworks by id, with the upload time they were parsed from.
type ParsedCache = HashMap<String, (DateTime<Utc>, Arc<Framework>)>;

/// The built-in frameworks and a cache of parsed uploaded ones.
pub struct FrameworkRegistry {
    builtin: Vec<(Arc<Framework>, &'static str)>,
    parsed: RwLock<ParsedCache>,
}

impl Default for FrameworkRegistry {
    fn default() -> Self {
        let builtin = builtin_frameworks()
            .into_iter()
            .filter_map(|f| {
                let source = BUILTIN_SOURCES
                    .iter()
                    .find(|(id, _)| *id == f.id)
                    .map(|(_, s)| *s)?;
                Some((Arc::new(f), source))
            })
            .collect();
        Self {
            builtin,
            parsed: RwLock::new(HashMap::new()),
        }
    }
}

impl FrameworkRegistry {
    fn builtin(&self, id: &str) -> Option<&(Arc<Framework>, &'static str)> {
        self.builtin.iter().find(|(f, _)| f.id == id)
    }

    fn parse_stored(&self, stored: &StoredFramework) -> Result<Arc<Framework>, AppError> {
        if let Ok(cache) = self.parsed.read()
            && let Some((at, framework)) = cache.get(&stored.id)
            && *at == stored.updated_at
        {
            return Ok(Arc::clone(framework));
        }
        let framework = Arc::new(Framework::from_toml(&stored.source).map_err(|e| {
            AppError::Internal(format!("stored framework {} no longer parses: {e}", stored.id))
        })?);
        if let Ok(mut cache) = self.parsed.write() {
            cache.insert(stored.id.clone(), (stored.updated_at, Arc::clone(&framework)));
        }
        Ok(framework)
    }
}

impl App {
    /// Every framework: built-in first, then uploaded ones by id.
    pub async fn frameworks(&self) -> Result<Vec<FrameworkInfo>, AppError> {
        let mut out: Vec<FrameworkInfo> = self
            .frameworks
            .builtin
            .iter()
            .map(|(f, source)| FrameworkInfo {
                framework: Arc::clone(f),
                builtin: true,
                source: (*source).to_string(),
            })
            .collect();
        for stored in self.store.stored_frameworks().await? {
            let framework = self.frameworks.parse_stored(&stored)?;
            out.push(FrameworkInfo {
                framework,
                builtin: false,
                source: stored.source,
            });
        }
        Ok(out)
    }

    /// One framework by id.
    pub async fn framework(&self, id: &str) -> Result<FrameworkInfo, AppError> {
        if let Some((f, source)) = self.frameworks.builtin(id) {
            return Ok(FrameworkInfo {
                framework: Arc::clone(f),
                builtin: true,
                source: (*source).to_string(),
            });
        }
        let stored = self
            .store
            .stored_framework(id)
            .await?
            .ok_or(AppError::NotFound { what: "framework" })?;
        let framework = self.frameworks.parse_stored(&stored)?;
        Ok(FrameworkInfo {
            framework,
            builtin: false,
            source: stored.source,
        })
    }

    /// Checks that a framework id names a framework (for uploads and reviews).
    pub async fn require_framework(&self, id: &str) -> Result<Arc<Framework>, AppError> {
        match self.framework(id).await {
            Ok(info) => Ok(info.framework),
            Err(AppError::NotFound { .. }) => {
                let known: Vec<String> = self
                    .frameworks()
                    .await?
                    .into_iter()
                    .map(|f| f.framework.id.clone())
                    .collect();
                Err(AppError::invalid(
                    "unknown_framework",
                    format!(
                        "There is no framework called {id:?}. Known: {}.",
                        known.join(", ")
                    ),
                ))
            }
            Err(e) => Err(e),
        }
    }

    /// Validates and stores an uploaded framework (replacing an uploaded one with the same id).
    pub async fn upload_framework(&self, user: &User, source: &str) -> Result<FrameworkInfo, AppError> {
        let framework = Framework::from_toml(source).map_err(|e| {
            AppError::invalid("invalid_framework", format!("The framework is not valid: {e}"))
        })?;
        if self.frameworks.builtin(&framework.id).is_some() {
            return Err(AppError::Conflict {
                message: format!(
                    "{:?} is a built-in framework and cannot be replaced; give yours another id.",
                    framework.id
                ),
            });
        }
        let now = aiprism_core::now();
        let existing = self.store.stored_framework(&framework.id).await?;
        let stored = StoredFramework {
            id: framework.id.clone(),
            name: framework.name.clone(),
            source: source.to_string(),
            created_by: existing
                .as_ref()
                .map_or_else(|| user.id.clone(), |e| e.created_by.clone()),
            created_at: existing.map_or(now, |e| e.created_at),
            updated_at: now,
        };
        self.store.save_framework(&stored).await?;
        tracing::info!(framework = %stored.id, "framework uploaded");
        Ok(FrameworkInfo {
            framework: Arc::new(framework),
            builtin: false,
            source: stored.source,
        })
    }
}
