//! The fixed set of scopes a key can hold. Each API route names the one it needs.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Analyze,
    JobsRead,
    JobsDelete,
    LibraryRead,
    LibraryWrite,
    LibraryDownload,
    WebhooksManage,
    AccountRead,
}

impl Scope {
    pub const ALL: [Scope; 8] = [
        Scope::Analyze,
        Scope::JobsRead,
        Scope::JobsDelete,
        Scope::LibraryRead,
        Scope::LibraryWrite,
        Scope::LibraryDownload,
        Scope::WebhooksManage,
        Scope::AccountRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Analyze => "analyze",
            Scope::JobsRead => "jobs:read",
            Scope::JobsDelete => "jobs:delete",
            Scope::LibraryRead => "library:read",
            Scope::LibraryWrite => "library:write",
            Scope::LibraryDownload => "library:download",
            Scope::WebhooksManage => "webhooks:manage",
            Scope::AccountRead => "account:read",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes as a bit set: checking one on the hot path is a mask test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScopeSet(u16);

impl ScopeSet {
    pub fn all() -> ScopeSet {
        Scope::ALL.into_iter().collect()
    }

    pub fn contains(self, s: Scope) -> bool {
        self.0 & (1 << s as u16) != 0
    }

    /// Parses stored or requested names; the first unknown name is returned as the error.
    pub fn parse_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<ScopeSet, String> {
        let mut set = ScopeSet::default();
        for n in names {
            let s = Scope::parse(n.trim()).ok_or_else(|| n.to_string())?;
            set.0 |= 1 << s as u16;
        }
        Ok(set)
    }

    pub fn names(self) -> Vec<String> {
        self.iter().map(|s| s.as_str().to_string()).collect()
    }

    /// The scopes in the set, in the documented order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        ScopeSet(iter.into_iter().fold(0, |acc, s| acc | (1 << s as u16)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
        }
        let set = ScopeSet::parse_names(["analyze", "jobs:read"]).unwrap();
        assert!(set.contains(Scope::Analyze) && !set.contains(Scope::JobsDelete));
        assert_eq!(set.names(), vec!["analyze", "jobs:read"]);
        assert_eq!(ScopeSet::parse_names(["nope"]), Err("nope".to_string()));
        assert_eq!(ScopeSet::all().names().len(), 8);
    }
}
