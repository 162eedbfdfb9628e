//! A small thesaurus of sound-effects vocabulary: words a sound designer uses for the same
//! source or action. Each group is symmetric; lookups are by stemmed word.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::text::stem;

const GROUPS: &[&[&str]] = &[
    &["car", "automobile", "auto", "vehicle"],
    &[
        "explosion",
        "blast",
        "boom",
        "kaboom",
        "detonation",
        "explode",
    ],
    &["gun", "gunshot", "shot", "firearm", "rifle", "pistol"],
    &["laser", "blaster", "phaser", "plasma", "railgun"],
    &["monster", "creature", "beast"],
    &["growl", "snarl", "roar"],
    &["ghost", "spirit", "phantom", "spectre", "specter"],
    &["wail", "moan", "howl"],
    &["scary", "spooky", "creepy", "eerie", "sinister"],
    &["drone", "pad", "hum"],
    &["shatter", "smash", "break"],
    &["yell", "shout", "scream"],
    &["voice", "vocal", "speech", "spoken"],
    &["female", "woman"],
    &["male", "man"],
    &["telephone", "phone"],
    &["ring", "ringtone", "ringing"],
    &["beep", "bleep", "blip"],
    &["chime", "ding", "bell"],
    &["click", "tap", "tick"],
    &["error", "fail", "failure", "wrong", "denied"],
    &["notification", "alert"],
    &["crowd", "audience"],
    &["cheer", "applause", "cheering"],
    &["funny", "comedy", "cartoon", "comic", "silly"],
    &["burp", "belch"],
    &["fire", "flame", "campfire", "bonfire"],
    &["crackle", "crackling"],
    &["wind", "gust", "breeze"],
    &["rain", "shower", "drizzle"],
    &["bird", "birdsong", "chirp", "tweet"],
    &["forest", "woods", "woodland", "jungle"],
    &["ambience", "ambient", "atmosphere", "background"],
    &["city", "urban", "street"],
    &["traffic", "cars"],
    &["train", "railway", "locomotive"],
    &["rocket", "missile"],
    &["launch", "liftoff", "takeoff"],
    &["factory", "industrial", "machinery", "machine"],
    &["anvil", "forge", "blacksmith", "smith"],
    &["sword", "blade", "sabre", "saber"],
    &["slash", "swing", "swish", "whoosh"],
    &["spell", "magic", "cast", "enchant"],
    &["kick", "bass drum"],
    &["loop", "beat", "groove"],
    &["zombie", "undead"],
    &["wolf", "wolves"],
    &["night", "nighttime", "nocturnal"],
    &["door", "gate"],
    &["creak", "squeak"],
    &["slam", "bang"],
    &["water", "liquid", "aqua"],
    &["splash", "splosh", "plop"],
    &["drip", "droplet", "trickle"],
    &["stream", "brook", "creek", "river"],
    &["ocean", "sea", "surf", "waves"],
    &["thunder", "thunderclap", "storm"],
    &["impact", "hit", "thud", "thump", "punch"],
    &["metal", "metallic", "steel", "iron"],
    &["wood", "wooden", "timber"],
    &["glass", "glassy"],
    &["crash", "collision", "wreck"],
    &["engine", "motor"],
    &["truck", "lorry"],
    &["airplane", "aeroplane", "aircraft", "plane", "jet"],
    &["helicopter", "chopper"],
    &["boat", "ship", "vessel"],
    &["horse", "hooves", "gallop"],
    &["dog", "bark", "woof"],
    &["cat", "meow", "purr"],
    &["insect", "bug", "cricket", "bee"],
    &["laugh", "laughter", "giggle", "chuckle"],
    &["cry", "sob", "weep"],
    &["breath", "breathing", "breathe", "exhale", "inhale"],
    &["heartbeat", "heart", "pulse"],
    &["alarm", "siren", "klaxon"],
    &["button", "switch", "toggle"],
    &["typing", "keyboard", "keystroke"],
    &["paper", "page", "rustle"],
    &["coin", "money", "cash"],
    &["pickup", "collect", "powerup"],
    &["jump", "hop", "leap"],
    &["punch", "hit", "strike"],
    &["whoosh", "swoosh", "woosh", "swish"],
    &["synth", "synthesizer", "electronic"],
    &["guitar", "strum"],
    &["drum", "percussion"],
    &["cymbal", "hihat", "crash"],
    &["bass", "sub"],
    &["choir", "chant", "vocals"],
    &["robot", "android", "mechanical"],
    &["alien", "extraterrestrial", "ufo"],
    &["space", "cosmic", "galaxy"],
    &["underwater", "submerged"],
    &["rumble", "rumbling"],
    &["hiss", "steam"],
    &["scifi", "futuristic"],
    &["medieval", "ancient"],
    &["battle", "combat", "fight", "war"],
    &["tone", "sine", "beep"],
    &["countdown", "timer"],
    &["soft", "gentle", "quiet"],
    &["footstep", "step", "walk"],
];

fn table() -> &'static HashMap<String, Vec<&'static str>> {
    static TABLE: OnceLock<HashMap<String, Vec<&'static str>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut m: HashMap<String, Vec<&'static str>> = HashMap::new();
        for group in GROUPS {
            for w in *group {
                let e = m.entry(stem(w)).or_default();
                for other in *group {
                    if other != w && !e.contains(other) {
                        e.push(other);
                    }
                }
            }
        }
        m
    })
}

/// Words that mean the same as the stemmed `word`.
pub fn of(word: &str) -> &'static [&'static str] {
    table().get(word).map_or(&[], Vec::as_slice)
}
