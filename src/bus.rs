//! Where the D-Bus session bus is and whether anything listens there, without speaking
//! D-Bus: used to tell "no bus" from "no service on the bus" in keyring and notification
//! errors (the keyring crate reports both as the same error).

use std::path::PathBuf;

use crate::env::Env;

/// What we know about the session bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BusState {
    /// A socket accepted a connection at this address.
    Reachable(String),
    /// No address, or nothing listens at it; the text says which.
    Unreachable(String),
    /// An address we cannot check without D-Bus (e.g. tcp:, launchd:).
    Unknown(String),
}

impl BusState {
    pub(crate) fn is_unreachable(&self) -> bool {
        matches!(self, BusState::Unreachable(_))
    }
}

/// The session bus of `env` (DBUS_SESSION_BUS_ADDRESS, else `$XDG_RUNTIME_DIR/bus`).
pub(crate) fn session_bus(env: &Env) -> BusState {
    match env.get("DBUS_SESSION_BUS_ADDRESS") {
        Some(addr) => check_address(addr),
        None => match env.get("XDG_RUNTIME_DIR") {
            Some(dir) => {
                let p = PathBuf::from(dir).join("bus");
                if connect_path(&p) {
                    BusState::Reachable(format!("unix:path={}", p.display()))
                } else {
                    BusState::Unreachable(format!(
                        "DBUS_SESSION_BUS_ADDRESS is not set and nothing listens at {}",
                        p.display()
                    ))
                }
            }
            None => BusState::Unreachable(
                "neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set".to_string(),
            ),
        },
    }
}

/// The session bus of this process.
pub(crate) fn session_bus_of_process() -> BusState {
    session_bus(&Env::from_process())
}

fn check_address(addr: &str) -> BusState {
    // Several addresses may be given, separated by ';'. The first that works wins.
    let mut unknown = None;
    for one in addr.split(';').filter(|a| !a.is_empty()) {
        let Some((transport, params)) = one.split_once(':') else {
            continue;
        };
        let param = |k: &str| {
            params
                .split(',')
                .filter_map(|kv| kv.split_once('='))
                .find(|(key, _)| *key == k)
                .map(|(_, v)| unescape(v))
        };
        match transport {
            "unix" => {
                if let Some(p) = param("path") {
                    if connect_path(&PathBuf::from(&p)) {
                        return BusState::Reachable(one.to_string());
                    }
                } else if let Some(name) = param("abstract") {
                    if connect_abstract(&name) {
                        return BusState::Reachable(one.to_string());
                    }
                } else {
                    unknown = Some(one.to_string());
                }
            }
            _ => unknown = Some(one.to_string()),
        }
    }
    match unknown {
        Some(u) => BusState::Unknown(u),
        None => BusState::Unreachable(format!("nothing listens at {addr}")),
    }
}

/// D-Bus address values escape bytes as %XX.
fn unescape(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(x) = u8::from_str_radix(&v[i + 1..i + 3], 16) {
                out.push(x);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(unix)]
fn connect_path(p: &std::path::Path) -> bool {
    std::os::unix::net::UnixStream::connect(p).is_ok()
}

#[cfg(not(unix))]
fn connect_path(_p: &std::path::Path) -> bool {
    false
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn connect_abstract(name: &str) -> bool {
    use std::os::linux::net::SocketAddrExt;
    std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
        .and_then(|a| std::os::unix::net::UnixStream::connect_addr(&a))
        .is_ok()
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn connect_abstract(_name: &str) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_address_is_unreachable() {
        let e = Env::from_pairs([("HOME", "/nonexistent")]);
        assert!(session_bus(&e).is_unreachable());
        let e = Env::from_pairs([(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/keyage/bus",
        )]);
        assert!(session_bus(&e).is_unreachable());
        let e = Env::from_pairs([("DBUS_SESSION_BUS_ADDRESS", "tcp:host=localhost,port=1")]);
        assert!(matches!(session_bus(&e), BusState::Unknown(_)));
    }

    #[cfg(unix)]
    #[test]
    fn listening_socket_is_reachable() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("b%us");
        let _l = std::os::unix::net::UnixListener::bind(&p).expect("bind");
        let addr = format!("unix:path={},guid=0", dir.path().join("b%25us").display());
        let e = Env::from_pairs([("DBUS_SESSION_BUS_ADDRESS", addr.as_str())]);
        assert!(matches!(session_bus(&e), BusState::Reachable(_)));
    }
}
