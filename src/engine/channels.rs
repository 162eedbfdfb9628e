//! Channel layouts: what each decoded channel is, the BS.1770 loudness weight it gets and the
//! ITU-R BS.775 coefficient it gets in the mono down-mix. Pure functions of the layout.

use symphonia::core::audio::{Channels, Position};

/// What a channel is, as far as the loudness weights and the down-mix care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelRole {
    Mono,
    Left,
    Right,
    Center,
    Lfe,
    /// Surround at about ±110°: BS.1770 weight 1.41.
    SurroundLeft,
    SurroundRight,
    /// Rear channels of a layout that also has side channels (7.1): weight 1.0.
    BackLeft,
    BackRight,
    Other,
}

impl ChannelRole {
    /// The BS.1770 weighting ebur128 applies for this role; the LFE is left out of loudness.
    pub fn ebu_channel(self) -> ebur128::Channel {
        match self {
            ChannelRole::Lfe => ebur128::Channel::Unused,
            ChannelRole::Right => ebur128::Channel::Right,
            ChannelRole::Center => ebur128::Channel::Center,
            ChannelRole::SurroundLeft => ebur128::Channel::LeftSurround,
            ChannelRole::SurroundRight => ebur128::Channel::RightSurround,
            ChannelRole::Mono
            | ChannelRole::Left
            | ChannelRole::BackLeft
            | ChannelRole::BackRight
            | ChannelRole::Other => ebur128::Channel::Left,
        }
    }
}

/// Roles for a symphonia channel set, in plane order.
pub fn roles_for(channels: &Channels) -> Vec<ChannelRole> {
    match channels {
        Channels::Positioned(pos) => {
            let has_sides = pos.intersects(Position::SIDE_LEFT | Position::SIDE_RIGHT);
            let count = pos.bits().count_ones() as usize;
            if count == 1 {
                return vec![ChannelRole::Mono];
            }
            let mut roles = Vec::with_capacity(count);
            for bit in 0..32 {
                let Some(p) = Position::from_bits(1 << bit) else {
                    continue;
                };
                if !pos.contains(p) || p.is_empty() {
                    continue;
                }
                roles.push(role_of_position(p, has_sides));
            }
            roles
        }
        Channels::Discrete(n) => roles_for_count(usize::from(*n)),
        other => vec![ChannelRole::Other; other.count()],
    }
}

fn role_of_position(p: Position, has_sides: bool) -> ChannelRole {
    if p == Position::FRONT_LEFT {
        ChannelRole::Left
    } else if p == Position::FRONT_RIGHT {
        ChannelRole::Right
    } else if p == Position::FRONT_CENTER {
        ChannelRole::Center
    } else if p == Position::LFE1 || p == Position::LFE2 {
        ChannelRole::Lfe
    } else if p == Position::SIDE_LEFT {
        ChannelRole::SurroundLeft
    } else if p == Position::SIDE_RIGHT {
        ChannelRole::SurroundRight
    } else if p == Position::REAR_LEFT {
        if has_sides {
            ChannelRole::BackLeft
        } else {
            ChannelRole::SurroundLeft
        }
    } else if p == Position::REAR_RIGHT {
        if has_sides {
            ChannelRole::BackRight
        } else {
            ChannelRole::SurroundRight
        }
    } else {
        ChannelRole::Other
    }
}

/// The usual layouts of a bare channel count (WAV without a channel mask, SMPTE order).
pub fn roles_for_count(n: usize) -> Vec<ChannelRole> {
    use ChannelRole::*;
    match n {
        1 => vec![Mono],
        2 => vec![Left, Right],
        3 => vec![Left, Right, Center],
        5 => vec![Left, Right, Center, SurroundLeft, SurroundRight],
        6 => vec![Left, Right, Center, Lfe, SurroundLeft, SurroundRight],
        _ => vec![Other; n],
    }
}

/// ITU-R BS.775 down-mix to mono: fold to Lo/Ro (centre and surrounds at -3 dB, LFE dropped),
/// then average. Layouts with channels BS.775 does not place get an equal-weight average.
pub fn downmix_weights(roles: &[ChannelRole]) -> Vec<f32> {
    use ChannelRole::*;
    const MINUS_3DB: f32 = std::f32::consts::FRAC_1_SQRT_2;
    if roles.contains(&Other) {
        let audible = roles.iter().filter(|r| **r != Lfe).count().max(1) as f32;
        return roles
            .iter()
            .map(|r| if *r == Lfe { 0.0 } else { 1.0 / audible })
            .collect();
    }
    roles
        .iter()
        .map(|r| match r {
            Mono => 1.0,
            Left | Right => 0.5,
            Center => MINUS_3DB,
            Lfe => 0.0,
            SurroundLeft | SurroundRight | BackLeft | BackRight => 0.5 * MINUS_3DB,
            Other => 0.0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_one_down_mix_follows_bs775_and_drops_lfe() {
        let w = downmix_weights(&roles_for_count(6));
        let h = std::f32::consts::FRAC_1_SQRT_2;
        let expect = [0.5, 0.5, h, 0.0, 0.5 * h, 0.5 * h];
        for (a, b) in w.iter().zip(expect) {
            assert!((a - b).abs() < 1e-3, "{w:?}");
        }
    }

    #[test]
    fn lfe_is_not_weighted_into_loudness() {
        let roles = roles_for_count(6);
        assert_eq!(roles[3].ebu_channel(), ebur128::Channel::Unused);
        assert_eq!(roles[4].ebu_channel(), ebur128::Channel::LeftSurround);
    }

    #[test]
    fn seven_one_rear_channels_get_unit_weight() {
        let pos = Position::FRONT_LEFT
            | Position::FRONT_RIGHT
            | Position::FRONT_CENTER
            | Position::LFE1
            | Position::REAR_LEFT
            | Position::REAR_RIGHT
            | Position::SIDE_LEFT
            | Position::SIDE_RIGHT;
        let roles = roles_for(&Channels::Positioned(pos));
        assert_eq!(roles.len(), 8);
        assert_eq!(roles[4], ChannelRole::BackLeft);
        assert_eq!(roles[6], ChannelRole::SurroundLeft);
    }
}
