//! Geo and HyperLogLog against a real redis-server (skipped when it is not installed): the same
//! data into both servers, and byte-identical replies, so positions, hashes, distances, search
//! results (their unsorted order too) and PFCOUNT estimates agree exactly.

use ember::types::set::Rng;

use crate::harness::Twins;

/// Uniform in [lo, hi), from the engine's own generator: the same data for both servers.
fn uniform(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    lo + (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo)
}

#[test]
fn geo_replies_match_redis() {
    let Some(mut t) = Twins::start() else {
        return;
    };
    let mut rng = Rng::new(20240611);
    let mut add = vec!["GEOADD".to_string(), "g".to_string()];
    for i in 0..2000 {
        add.push(format!("{:.6}", uniform(&mut rng, -180.0, 180.0)));
        add.push(format!("{:.6}", uniform(&mut rng, -85.0, 85.0)));
        add.push(format!("m{i}"));
    }
    t.same_args(&add);
    let members: Vec<String> = (0..2000).step_by(37).map(|i| format!("m{i}")).collect();
    t.same(&format!("GEOPOS g {}", members.join(" ")));
    t.same(&format!("GEOHASH g {}", members.join(" ")));
    for proto in ["2", "3"] {
        // HELLO's reply names the server: switch both without comparing it.
        t.e.cmd(&["HELLO", proto]);
        t.r.cmd(&["HELLO", proto]);
        for k in 0..60 {
            let (lon, lat) = (
                uniform(&mut rng, -180.0, 180.0),
                uniform(&mut rng, -85.0, 85.0),
            );
            let km = [5.0, 50.0, 400.0, 2000.0, 9000.0][k % 5];
            let (lon, lat) = (format!("{lon:.5}"), format!("{lat:.5}"));
            let m = format!("m{}", k * 31);
            t.same(&format!("GEODIST g {m} m{} km", k + 1));
            t.same(&format!(
                "GEOSEARCH g FROMLONLAT {lon} {lat} BYRADIUS {km} km WITHDIST WITHHASH WITHCOORD"
            ));
            t.same(&format!(
                "GEOSEARCH g FROMMEMBER {m} BYBOX {km} {km} km DESC COUNT 4"
            ));
            t.same(&format!("GEORADIUS g {lon} {lat} {km} km COUNT 3 ANY"));
            t.same(&format!("GEORADIUSBYMEMBER g {m} {km} mi WITHDIST ASC"));
        }
    }
    for bad in [
        "GEOADD g 181 0 x",
        "GEOSEARCH g FROMMEMBER nope BYRADIUS 1 km",
        "GEOSEARCH g FROMLONLAT 0 0 BYBOX -1 abc m",
        "GEOSEARCH g FROMLONLAT 0 0 BYBOX 1 -1 m",
        "GEOSEARCH g FROMLONLAT 0 0 BYRADIUS -1 m",
        "GEOSEARCH g FROMLONLAT 0 0 BYRADIUS 1 parsecs",
        "GEORADIUS g 0 0 1 km COUNT 0",
    ] {
        t.same(bad);
    }
    t.same("COMMAND GETKEYS GEORADIUS src 0 0 1 km STORE a STOREDIST b");
}

#[test]
fn pfcount_matches_redis_on_100k_elements() {
    let Some(mut t) = Twins::start() else {
        return;
    };
    let mut rng = Rng::new(7);
    for chunk in 0..100 {
        let mut args = vec!["PFADD".to_string(), format!("h{}", chunk % 3)];
        for _ in 0..1000 {
            args.push(format!("e{}", rng.next_u64() % 1_000_000));
        }
        t.same_args(&args);
    }
    for key in ["h0", "h1", "h2"] {
        t.same(&format!("PFCOUNT {key}"));
        t.same(&format!("GET {key}"));
    }
    t.same("PFCOUNT h0 h1 h2");
    t.same("PFMERGE all h0 h1 h2");
    t.same("PFCOUNT all");
}
