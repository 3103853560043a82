//! Geo and HyperLogLog against a real redis-server (skipped when it is not installed): the same
//! data into both servers, and byte-identical replies, so positions, hashes, distances, search
//! results (their unsorted order too) and PFCOUNT estimates agree exactly.

use crate::harness::{Conn, Server};

/// xorshift64*: the same pseudo-random data for both servers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [lo, hi).
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (self.next() >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo)
    }
}

/// Sends `args` to both servers and checks the raw replies are the same.
fn same(a: &mut Conn, b: &mut Conn, args: &[String]) {
    let (x, y) = (a.raw(args), b.raw(args));
    assert!(
        x == y,
        "{args:?}\nember: {}\nredis: {}",
        String::from_utf8_lossy(&x),
        String::from_utf8_lossy(&y)
    );
}

#[test]
fn geo_replies_match_redis() {
    let Some(redis) = Server::redis() else {
        return;
    };
    let ember = Server::start();
    let (mut e, mut r) = (ember.connect(), redis.connect());
    let mut rng = Rng(20240611);
    let mut add = vec!["GEOADD".to_string(), "g".to_string()];
    for i in 0..2000 {
        add.push(format!("{:.6}", rng.uniform(-180.0, 180.0)));
        add.push(format!("{:.6}", rng.uniform(-85.0, 85.0)));
        add.push(format!("m{i}"));
    }
    same(&mut e, &mut r, &add);
    let members: Vec<String> = (0..2000).step_by(37).map(|i| format!("m{i}")).collect();
    let with = |cmd: &str, rest: &[String]| {
        let mut v = vec![cmd.to_string(), "g".to_string()];
        v.extend_from_slice(rest);
        v
    };
    same(&mut e, &mut r, &with("GEOPOS", &members));
    same(&mut e, &mut r, &with("GEOHASH", &members));
    for proto in ["2", "3"] {
        // HELLO's reply names the server: switch both without comparing it.
        e.cmd(&["HELLO", proto]);
        r.cmd(&["HELLO", proto]);
        for k in 0..60 {
            let s = |v: &str| v.to_string();
            let (lon, lat) = (rng.uniform(-180.0, 180.0), rng.uniform(-85.0, 85.0));
            let km = [5.0, 50.0, 400.0, 2000.0, 9000.0][k % 5];
            let (lon, lat, km) = (format!("{lon:.5}"), format!("{lat:.5}"), km.to_string());
            let m = format!("m{}", k * 31);
            same(
                &mut e,
                &mut r,
                &with("GEODIST", &[m.clone(), format!("m{}", k + 1), s("km")]),
            );
            same(
                &mut e,
                &mut r,
                &with(
                    "GEOSEARCH",
                    &[
                        s("FROMLONLAT"),
                        lon.clone(),
                        lat.clone(),
                        s("BYRADIUS"),
                        km.clone(),
                        s("km"),
                        s("WITHDIST"),
                        s("WITHHASH"),
                        s("WITHCOORD"),
                    ],
                ),
            );
            same(
                &mut e,
                &mut r,
                &with(
                    "GEOSEARCH",
                    &[
                        s("FROMMEMBER"),
                        m.clone(),
                        s("BYBOX"),
                        km.clone(),
                        km.clone(),
                        s("km"),
                        s("DESC"),
                        s("COUNT"),
                        s("4"),
                    ],
                ),
            );
            same(
                &mut e,
                &mut r,
                &with(
                    "GEORADIUS",
                    &[lon, lat, km.clone(), s("km"), s("COUNT"), s("3"), s("ANY")],
                ),
            );
            same(
                &mut e,
                &mut r,
                &with(
                    "GEORADIUSBYMEMBER",
                    &[m, km, s("mi"), s("WITHDIST"), s("ASC")],
                ),
            );
        }
    }
    same(
        &mut e,
        &mut r,
        &[
            "GEOADD".into(),
            "g".into(),
            "181".into(),
            "0".into(),
            "x".into(),
        ],
    );
    same(
        &mut e,
        &mut r,
        &[
            "GEOSEARCH".into(),
            "g".into(),
            "FROMMEMBER".into(),
            "nope".into(),
            "BYRADIUS".into(),
            "1".into(),
            "km".into(),
        ],
    );
    for bad in [
        "GEOSEARCH g FROMLONLAT 0 0 BYBOX -1 abc m",
        "GEOSEARCH g FROMLONLAT 0 0 BYBOX 1 -1 m",
        "GEOSEARCH g FROMLONLAT 0 0 BYRADIUS -1 m",
        "GEOSEARCH g FROMLONLAT 0 0 BYRADIUS 1 parsecs",
        "GEORADIUS g 0 0 1 km COUNT 0",
    ] {
        same(
            &mut e,
            &mut r,
            &bad.split(' ').map(String::from).collect::<Vec<_>>(),
        );
    }
    let getkeys = "COMMAND GETKEYS GEORADIUS src 0 0 1 km STORE a STOREDIST b";
    let getkeys: Vec<String> = getkeys.split(' ').map(String::from).collect();
    same(&mut e, &mut r, &getkeys);
}

#[test]
fn pfcount_matches_redis_on_100k_elements() {
    let Some(redis) = Server::redis() else {
        return;
    };
    let ember = Server::start();
    let (mut e, mut r) = (ember.connect(), redis.connect());
    let mut rng = Rng(7);
    for chunk in 0..100 {
        let mut args = vec!["PFADD".to_string(), format!("h{}", chunk % 3)];
        for _ in 0..1000 {
            args.push(format!("e{}", rng.next() % 1_000_000));
        }
        same(&mut e, &mut r, &args);
    }
    for key in ["h0", "h1", "h2"] {
        same(&mut e, &mut r, &["PFCOUNT".to_string(), key.to_string()]);
        same(&mut e, &mut r, &["GET".to_string(), key.to_string()]);
    }
    same(
        &mut e,
        &mut r,
        &["PFCOUNT".into(), "h0".into(), "h1".into(), "h2".into()],
    );
    same(
        &mut e,
        &mut r,
        &[
            "PFMERGE".into(),
            "all".into(),
            "h0".into(),
            "h1".into(),
            "h2".into(),
        ],
    );
    same(&mut e, &mut r, &["PFCOUNT".into(), "all".into()]);
}
