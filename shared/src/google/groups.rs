//! Contact groups ("labels"): list, get with members, create, and members:modify.

use super::client::{Access, GoogleClient};
use super::error::GoogleError;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

/// Google's limit on resource names added plus removed in one members:modify call.
pub const MEMBERS_MODIFY_MAX: usize = 1000;
const GROUPS_PAGE_SIZE: u32 = 1000;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactGroup {
    /// `contactGroups/<id>`; system groups have names like `contactGroups/myContacts`.
    pub resource_name: String,
    pub etag: Option<String>,
    #[serde(default)]
    pub name: String,
    pub formatted_name: Option<String>,
    /// `USER_CONTACT_GROUP` or `SYSTEM_CONTACT_GROUP`.
    pub group_type: Option<String>,
    pub member_count: Option<u64>,
    /// Only from `get`, at most `maxMembers` of them.
    #[serde(default)]
    pub member_resource_names: Vec<String>,
}

impl ContactGroup {
    pub fn is_user_group(&self) -> bool {
        self.group_type.as_deref() == Some("USER_CONTACT_GROUP")
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupsPage {
    #[serde(default)]
    contact_groups: Vec<ContactGroup>,
    next_page_token: Option<String>,
}

/// People members:modify could not act on, summed over all calls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MembersModified {
    #[serde(default)]
    pub not_found_resource_names: Vec<String>,
    /// Not removed because it is the person's last group (a contact needs one).
    #[serde(default)]
    pub can_not_remove_last_contact_group_resource_names: Vec<String>,
}

impl GoogleClient {
    /// Every contact group, system and user (members not included).
    pub async fn list_contact_groups(&self) -> Result<Vec<ContactGroup>, GoogleError> {
        let mut groups = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut query = vec![
                ("pageSize", GROUPS_PAGE_SIZE.to_string()),
                (
                    "groupFields",
                    "metadata,groupType,memberCount,name".to_string(),
                ),
            ];
            if let Some(token) = &page_token {
                query.push(("pageToken", token.clone()));
            }
            let page: GroupsPage = self
                .call(
                    "contactGroups.list",
                    Method::GET,
                    "/v1/contactGroups",
                    &query,
                    None,
                    Access::Read,
                )
                .await?;
            groups.extend(page.contact_groups);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(next) if page_token.as_deref() != Some(next.as_str()) => {
                    page_token = Some(next)
                }
                _ => return Ok(groups),
            }
        }
    }

    /// One group with up to `max_members` member resource names (Google's default is none).
    pub async fn get_contact_group(
        &self,
        resource_name: &str,
        max_members: u32,
    ) -> Result<ContactGroup, GoogleError> {
        let query = [
            ("maxMembers", max_members.to_string()),
            (
                "groupFields",
                "metadata,groupType,memberCount,name".to_string(),
            ),
        ];
        let path = format!("/v1/{resource_name}");
        self.call(
            "contactGroups.get",
            Method::GET,
            &path,
            &query,
            None,
            Access::Read,
        )
        .await
    }

    /// Creates a user group; a taken name is [`GoogleError::GroupAlreadyExists`].
    pub async fn create_contact_group(&self, name: &str) -> Result<ContactGroup, GoogleError> {
        let body = json!({ "contactGroup": { "name": name }, "readGroupFields": "metadata,groupType,name" });
        let result = self
            .call(
                "contactGroups.create",
                Method::POST,
                "/v1/contactGroups",
                &[],
                Some(&body),
                Access::Write,
            )
            .await;
        match result {
            Err(GoogleError::Api {
                http_status: 409, ..
            }) => Err(GoogleError::GroupAlreadyExists),
            other => other,
        }
    }

    /// Adds and removes members, in calls of at most 1000 names (adds first).
    pub async fn modify_group_members(
        &self,
        group_resource_name: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<MembersModified, GoogleError> {
        let path = format!("/v1/{group_resource_name}/members:modify");
        let mut summary = MembersModified::default();
        let adds = add.chunks(MEMBERS_MODIFY_MAX).map(|c| (c, &[][..]));
        let removes = remove.chunks(MEMBERS_MODIFY_MAX).map(|c| (&[][..], c));
        for (to_add, to_remove) in adds.chain(removes) {
            let body = json!({ "resourceNamesToAdd": to_add, "resourceNamesToRemove": to_remove });
            let part: MembersModified = self
                .call(
                    "contactGroups.members.modify",
                    Method::POST,
                    &path,
                    &[],
                    Some(&body),
                    Access::Write,
                )
                .await?;
            summary
                .not_found_resource_names
                .extend(part.not_found_resource_names);
            summary
                .can_not_remove_last_contact_group_resource_names
                .extend(part.can_not_remove_last_contact_group_resource_names);
        }
        Ok(summary)
    }
}
