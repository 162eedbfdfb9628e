//! Which addresses a webhook may be sent to, checked on the resolved IP (never the host name), so
//! a name that re-resolves to another address cannot slip past. Link-local and cloud metadata
//! addresses are refused whatever the configuration says.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// The operator's target rules. `allow_private` defaults to true: tonearm runs on-premises, where
/// receivers on loopback, RFC 1918 and ULA networks are the normal case; operators exposing the
/// server to untrusted tenants turn it off and list exceptions in `allow_cidrs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetPolicy {
    pub allow_private: bool,
    /// Permitted even when private (never when always-refused).
    pub allow_cidrs: Vec<IpNet>,
    /// Refused even when public or private-allowed.
    pub deny_cidrs: Vec<IpNet>,
}

impl Default for TargetPolicy {
    fn default() -> Self {
        TargetPolicy {
            allow_private: true,
            allow_cidrs: Vec::new(),
            deny_cidrs: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error(
        "{0} is link-local, cloud metadata or not a unicast address, and is never a webhook target"
    )]
    Forbidden(IpAddr),
    #[error("{0} is in webhooks.deny_cidrs")]
    Denied(IpAddr),
    #[error("{0} is a private address and webhooks.allow_private is false")]
    Private(IpAddr),
}

/// IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

const AWS_V6_METADATA: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);

fn forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            a.is_link_local()
                || a.is_unspecified()
                || a.is_multicast()
                || a.is_broadcast()
                || a.octets()[0] == 0
        }
        IpAddr::V6(a) => {
            a == AWS_V6_METADATA
                || a.is_unspecified()
                || a.is_multicast()
                || a.is_unicast_link_local()
        }
    }
}

fn private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            a.is_loopback() || a.is_private() || in_v4(a, Ipv4Addr::new(100, 64, 0, 0), 10)
        }
        IpAddr::V6(a) => a.is_loopback() || a.is_unique_local(),
    }
}

fn in_v4(a: Ipv4Addr, net: Ipv4Addr, bits: u32) -> bool {
    let mask = u32::MAX << (32 - bits);
    u32::from(a) & mask == u32::from(net) & mask
}

impl TargetPolicy {
    pub fn check(&self, ip: IpAddr) -> Result<(), Refused> {
        let ip = canonical(ip);
        if forbidden(ip) {
            return Err(Refused::Forbidden(ip));
        }
        if self.deny_cidrs.iter().any(|n| n.contains(&ip)) {
            return Err(Refused::Denied(ip));
        }
        if private(ip) && !self.allow_private && !self.allow_cidrs.iter().any(|n| n.contains(&ip)) {
            return Err(Refused::Private(ip));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn metadata_and_link_local_are_refused_whatever_the_rules() {
        let open = TargetPolicy {
            allow_private: true,
            allow_cidrs: vec!["0.0.0.0/0".parse().unwrap(), "::/0".parse().unwrap()],
            deny_cidrs: vec![],
        };
        for a in [
            "169.254.169.254",
            "169.254.0.1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:169.254.169.254",
            "0.0.0.0",
            "::",
            "224.0.0.1",
            "255.255.255.255",
        ] {
            assert_eq!(
                open.check(ip(a)),
                Err(Refused::Forbidden(canonical(ip(a)))),
                "{a}"
            );
        }
    }

    #[test]
    fn private_follows_allow_private_and_the_cidr_lists() {
        let default = TargetPolicy::default();
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.9",
            "172.16.5.5",
            "::1",
            "fd12::1",
            "8.8.8.8",
            "2001:db8::1",
        ] {
            assert_eq!(default.check(ip(a)), Ok(()), "{a}");
        }
        let strict = TargetPolicy {
            allow_private: false,
            allow_cidrs: vec!["10.9.0.0/16".parse().unwrap()],
            deny_cidrs: vec![
                "203.0.113.0/24".parse().unwrap(),
                "10.9.9.0/24".parse().unwrap(),
            ],
        };
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "::ffff:192.168.1.1",
            "fd12::1",
            "100.64.0.1",
        ] {
            assert_eq!(
                strict.check(ip(a)),
                Err(Refused::Private(canonical(ip(a)))),
                "{a}"
            );
        }
        assert_eq!(strict.check(ip("10.9.1.1")), Ok(()));
        assert_eq!(
            strict.check(ip("10.9.9.1")),
            Err(Refused::Denied(ip("10.9.9.1")))
        );
        assert_eq!(
            strict.check(ip("203.0.113.7")),
            Err(Refused::Denied(ip("203.0.113.7")))
        );
        assert_eq!(strict.check(ip("8.8.8.8")), Ok(()));
    }
}
