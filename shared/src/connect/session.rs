//! The browser session: a signed cookie naming the connection, set when Zoho is connected.
//!
//! `zcs_session=<connection id>.<expiry ms>.<HMAC-SHA256 hex>`, HttpOnly, Secure, SameSite=Lax
//! (Lax, not Strict: the providers' redirect back to the callback is a cross-site navigation that
//! must carry it). The CSRF token of a form is derived from the cookie, so a page from another
//! site can neither read nor forge it.

use crate::store::EpochMillis;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const COOKIE: &str = "zcs_session";
pub const LIFETIME_MS: i64 = 30 * 24 * 60 * 60 * 1000;

type HmacSha256 = Hmac<Sha256>;

fn sign(key: &[u8], message: &str) -> String {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn verify(key: &[u8], message: &str, signature_hex: &str) -> bool {
    let Ok(signature) = hex::decode(signature_hex) else { return false };
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else { return false };
    mac.update(message.as_bytes());
    mac.verify_slice(&signature).is_ok()
}

/// The cookie value for a connection.
pub fn issue(key: &[u8], connection_id: &str, now: EpochMillis) -> String {
    let payload = format!("{connection_id}.{}", now + LIFETIME_MS);
    format!("{payload}.{}", sign(key, &payload))
}

/// The `Set-Cookie` value. `secure` is false only for plain-http local runs.
pub fn set_cookie(value: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}", LIFETIME_MS / 1000)
}

pub fn clear_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
}

/// The connection a valid, unexpired cookie names.
pub fn verify_cookie(key: &[u8], value: &str, now: EpochMillis) -> Option<String> {
    let (payload, signature) = value.rsplit_once('.')?;
    if !verify(key, payload, signature) {
        return None;
    }
    let (connection_id, expires) = payload.rsplit_once('.')?;
    let expires: i64 = expires.parse().ok()?;
    (expires > now && !connection_id.is_empty()).then(|| connection_id.to_string())
}

/// The CSRF token for forms shown to the holder of this cookie.
pub fn csrf_token(key: &[u8], cookie_value: &str) -> String {
    sign(key, &format!("csrf|{cookie_value}"))
}

pub fn verify_csrf(key: &[u8], cookie_value: &str, token: &str) -> bool {
    verify(key, &format!("csrf|{cookie_value}"), token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_verifies_until_it_expires_and_not_after_tampering() {
        let key = b"k3y";
        let value = issue(key, "conn-1", 1000);
        assert_eq!(verify_cookie(key, &value, 2000).as_deref(), Some("conn-1"));
        assert_eq!(verify_cookie(key, &value, 1000 + LIFETIME_MS), None, "expired");
        assert_eq!(verify_cookie(b"other", &value, 2000), None, "another key");
        let forged = value.replacen("conn-1", "conn-2", 1);
        assert_eq!(verify_cookie(key, &forged, 2000), None, "another connection");
        assert_eq!(verify_cookie(key, "garbage", 2000), None);
    }

    #[test]
    fn the_csrf_token_is_bound_to_the_cookie() {
        let key = b"k3y";
        let a = issue(key, "a", 0);
        let b = issue(key, "b", 0);
        assert!(verify_csrf(key, &a, &csrf_token(key, &a)));
        assert!(!verify_csrf(key, &b, &csrf_token(key, &a)));
        assert!(!verify_csrf(key, &a, ""));
    }

    #[test]
    fn the_cookie_is_http_only_secure_and_same_site() {
        let c = set_cookie("v", true);
        assert!(c.contains("HttpOnly") && c.contains("Secure") && c.contains("SameSite=Lax"));
    }
}
