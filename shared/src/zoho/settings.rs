//! Metadata: the user's custom views on Contacts (the lists they can pick), the Contacts
//! fields (for the mapping UI), the current user, and what their profile allows on Contacts.

use super::client::{Call, ZohoClient};
use super::error::ZohoError;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CustomView {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub display_value: Option<String>,
    /// `ALLVIEWS`, `MYVIEWS`, ... for Zoho's own views; `None` for user-made ones.
    #[serde(default)]
    pub system_name: Option<String>,
    #[serde(default)]
    pub default: bool,
    /// `public_views`, `other_users_views`, `shared_with_me` or `created_by_me`.
    #[serde(default)]
    pub category: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FieldMeta {
    pub api_name: String,
    #[serde(default)]
    pub field_label: Option<String>,
    /// `text`, `email`, `phone`, `picklist`, `lookup`, `datetime`, ...
    pub data_type: String,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub field_read_only: bool,
    #[serde(default)]
    pub system_mandatory: bool,
    #[serde(default)]
    pub length: Option<u32>,
}

impl FieldMeta {
    /// Whether the API accepts values for it.
    pub fn writable(&self) -> bool {
        !self.read_only && !self.field_read_only
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NamedId {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CurrentUser {
    pub id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub zuid: Option<String>,
    #[serde(default)]
    pub time_zone: Option<String>,
    pub profile: NamedId,
}

/// What the user's profile allows on Contacts (maps to `store::ZohoPermissions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContactsPermissions {
    pub view: bool,
    pub create: bool,
    pub edit: bool,
    pub delete: bool,
}

impl ContactsPermissions {
    /// Without create and edit a user may only sync Zoho → Google.
    pub fn may_write(&self) -> bool {
        self.create && self.edit
    }
}

#[derive(Deserialize)]
struct ViewsBody {
    #[serde(default)]
    custom_views: Vec<CustomView>,
}

#[derive(Deserialize)]
struct FieldsBody {
    #[serde(default)]
    fields: Vec<FieldMeta>,
}

#[derive(Deserialize)]
struct UsersBody {
    #[serde(default)]
    users: Vec<CurrentUser>,
}

#[derive(Deserialize)]
struct ProfilesBody {
    #[serde(default)]
    profiles: Vec<ProfileBody>,
}

#[derive(Deserialize)]
struct ProfileBody {
    #[serde(default)]
    permissions_details: Vec<PermissionDetail>,
}

#[derive(Deserialize)]
struct PermissionDetail {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    display_label: Option<String>,
    #[serde(default)]
    module: Option<String>,
    #[serde(default)]
    enabled: bool,
}

impl PermissionDetail {
    /// `View`/`Create`/`Edit`/`Delete` for a Contacts permission (`Crm_Implied_<Action>_Contacts`).
    fn contacts_action(&self) -> Option<String> {
        if let Some(action) = self.name.as_deref().and_then(|n| n.strip_prefix("Crm_Implied_")).and_then(|n| n.strip_suffix("_Contacts")) {
            return Some(action.to_string());
        }
        (self.module.as_deref() == Some("Contacts")).then(|| self.display_label.clone()).flatten()
    }
}

fn contacts_permissions(details: &[PermissionDetail]) -> ContactsPermissions {
    let enabled = |action: &str| details.iter().any(|d| d.enabled && d.contacts_action().as_deref() == Some(action));
    ContactsPermissions { view: enabled("View"), create: enabled("Create"), edit: enabled("Edit"), delete: enabled("Delete") }
}

fn module_query() -> [(&'static str, String); 1] {
    [("module", "Contacts".to_string())]
}

impl ZohoClient {
    /// The user's custom views on Contacts.
    pub async fn custom_views(&self) -> Result<Vec<CustomView>, ZohoError> {
        let query = module_query();
        let body: Option<ViewsBody> = self.call(Call::get("custom_views.list", "/crm/v8/settings/custom_views", &query)).await?;
        Ok(body.map(|b| b.custom_views).unwrap_or_default())
    }

    /// One custom view; `None` if Zoho answers without it.
    pub async fn custom_view(&self, cvid: &str) -> Result<Option<CustomView>, ZohoError> {
        let query = module_query();
        let path = format!("/crm/v8/settings/custom_views/{}", url::form_urlencoded::byte_serialize(cvid.as_bytes()).collect::<String>());
        let body: Option<ViewsBody> = self.call(Call::get("custom_views.get", &path, &query)).await?;
        Ok(body.and_then(|b| b.custom_views.into_iter().next()))
    }

    /// The Contacts fields the user can see.
    pub async fn contact_fields(&self) -> Result<Vec<FieldMeta>, ZohoError> {
        let query = module_query();
        let body: Option<FieldsBody> = self.call(Call::get("fields.list", "/crm/v8/settings/fields", &query)).await?;
        Ok(body.map(|b| b.fields).unwrap_or_default())
    }

    /// Who the token belongs to (`GET /users?type=CurrentUser`).
    pub async fn current_user(&self) -> Result<CurrentUser, ZohoError> {
        let query = [("type", "CurrentUser".to_string())];
        let body: Option<UsersBody> = self.call(Call::get("users.current", "/crm/v8/users", &query)).await?;
        body.and_then(|b| b.users.into_iter().next())
            .ok_or(ZohoError::Malformed { endpoint: "users.current", detail: "no current user in the answer".into() })
    }

    /// What the user's profile allows on Contacts, from `GET /settings/profiles/{id}`.
    pub async fn contacts_permissions(&self, profile_id: &str) -> Result<ContactsPermissions, ZohoError> {
        let path = format!("/crm/v8/settings/profiles/{}", url::form_urlencoded::byte_serialize(profile_id.as_bytes()).collect::<String>());
        let body: Option<ProfilesBody> = self.call(Call::get("profiles.get", &path, &[])).await?;
        let profile = body
            .and_then(|b| b.profiles.into_iter().next())
            .ok_or(ZohoError::Malformed { endpoint: "profiles.get", detail: "no profile in the answer".into() })?;
        Ok(contacts_permissions(&profile.permissions_details))
    }

    /// The current user and what their profile allows on Contacts (two calls).
    pub async fn user_and_permissions(&self) -> Result<(CurrentUser, ContactsPermissions), ZohoError> {
        let user = self.current_user().await?;
        let permissions = self.contacts_permissions(&user.profile.id).await?;
        Ok((user, permissions))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_permissions_are_read_by_name_or_module_label() {
        let body: ProfileBody = serde_json::from_value(serde_json::json!({"permissions_details": [
            {"name": "Crm_Implied_View_Contacts", "module": "Contacts", "display_label": "View", "enabled": true},
            {"name": "Crm_Implied_Create_Contacts", "module": "Contacts", "display_label": "Create", "enabled": false},
            {"name": "Crm_Implied_Edit_Leads", "module": "Leads", "display_label": "Edit", "enabled": true},
            {"module": "Contacts", "display_label": "Delete", "enabled": true}
        ]}))
        .expect("profile");
        let p = contacts_permissions(&body.permissions_details);
        assert_eq!(p, ContactsPermissions { view: true, create: false, edit: false, delete: true });
        assert!(!p.may_write());
    }
}
