//! A Person as the People API sends it: kept as JSON (the field mapping elsewhere converts it),
//! with typed accessors for what the sync itself needs.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Person(pub serde_json::Value);

impl Person {
    /// `people/c<digits>` for contacts.
    pub fn resource_name(&self) -> Option<&str> {
        self.0.get("resourceName")?.as_str()
    }

    pub fn etag(&self) -> Option<&str> {
        self.0.get("etag")?.as_str()
    }

    /// A tombstone on an incremental sync: the contact was deleted.
    pub fn is_deleted(&self) -> bool {
        self.0
            .pointer("/metadata/deleted")
            .and_then(|d| d.as_bool())
            .unwrap_or(false)
    }

    /// Resource names of the contact groups this person belongs to.
    pub fn memberships(&self) -> Vec<&str> {
        self.0
            .get("memberships")
            .and_then(|m| m.as_array())
            .map(|items| {
                items
                    .iter()
                    .filter_map(|m| {
                        m.pointer("/contactGroupMembership/contactGroupResourceName")?
                            .as_str()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn is_member_of(&self, group_resource_name: &str) -> bool {
        self.memberships().contains(&group_resource_name)
    }

    /// The CONTACT source's `updateTime` (RFC 3339), when `metadata` was requested.
    pub fn contact_update_time(&self) -> Option<&str> {
        self.0
            .pointer("/metadata/sources")?
            .as_array()?
            .iter()
            .find(|s| s.get("type").and_then(|t| t.as_str()) == Some("CONTACT"))?
            .get("updateTime")?
            .as_str()
    }

    pub fn into_json(self) -> serde_json::Value {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accessors_read_the_api_shape() {
        let p = Person(json!({
            "resourceName": "people/c1", "etag": "%E1",
            "metadata": {"sources": [{"type": "CONTACT", "id": "1", "updateTime": "2024-01-02T03:04:05.678Z"}]},
            "memberships": [
                {"contactGroupMembership": {"contactGroupResourceName": "contactGroups/myContacts"}},
                {"contactGroupMembership": {"contactGroupResourceName": "contactGroups/abc"}}
            ]
        }));
        assert_eq!(p.resource_name(), Some("people/c1"));
        assert_eq!(p.etag(), Some("%E1"));
        assert!(!p.is_deleted());
        assert!(p.is_member_of("contactGroups/abc"));
        assert_eq!(p.contact_update_time(), Some("2024-01-02T03:04:05.678Z"));
        let tombstone = Person(json!({"resourceName": "people/c2", "metadata": {"deleted": true}}));
        assert!(tombstone.is_deleted());
        assert!(tombstone.memberships().is_empty());
    }
}
