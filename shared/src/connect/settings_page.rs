//! The settings page: where a connected user chooses what to sync, sees the status and asks for
//! a run now. Server-rendered HTML forms, no script.
//!
//! - `GET /settings`: the form, filled from the connection's settings, with the user's Google
//!   contact groups, Zoho custom views and Zoho fields read live with their own tokens (so it
//!   offers exactly what they may see). Once a group and a list are saved it also shows the
//!   status summary and "Sync now".
//! - `POST /settings`: checks the CSRF token, validates with the engine's rules
//!   ([`crate::settings::validate`]) and either answers 422 with the form as sent and each
//!   problem next to its field, or saves (settings + `frequency`, which moves the connection to
//!   that frequency's schedule) and redirects back (post/redirect/get).
//! - `POST /sync-now`: checks the CSRF token and asks the [`crate::sync_trigger::SyncTrigger`]
//!   for a run of this connection.
//!
//! A new Google group is made from the same form: choose "New group…" and type its name. It is
//! created only when everything else in the form is valid, so a form sent back with errors never
//! leaves stray groups behind.
//!
//! The parsing ([`FormState`]) and the rendering ([`render_page`]) are pure; the handlers at the
//! bottom do the I/O.

use super::{session, user_error, Connector, Failure, START_AGAIN};
use crate::google::{ContactGroup, GoogleClient, GoogleError};
use crate::mapping::{supported_extra_google_fields, GoogleFieldOption, Mapping, USER_DEFINED_PREFIX};
use crate::oauth::AccessTokenCache;
use crate::settings::{
    validate, ConflictPolicy, DeletionHandling, Direction, FieldPair, Frequency, GoogleGroupInfo, Settings, SettingsError, ValidationContext,
    MY_CONTACTS_GROUP,
};
use crate::status::{build_report, render_summary, StatusReport, RUNS_READ};
use crate::store::{Connection, EpochMillis, Provider, ZohoPermissions};
use crate::web::{escape, page, WebRequest, WebResponse};
use crate::zoho::{self, CustomView, FieldMeta, ZohoClient, ZohoError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The `google_group` value that asks for a new group named by `new_group_name`.
pub const NEW_GROUP: &str = "new";
/// Extra mapping rows a form may carry; more are ignored.
const MAX_EXTRA_ROWS: usize = 50;
/// Longest group name accepted (Google's own limit is not documented; this is generous).
const MAX_GROUP_NAME: usize = 100;
/// The page's API calls must finish within this, so the page answers well before API Gateway's
/// 30-second limit.
const API_TIME: Duration = Duration::from_secs(20);

/// One problem, shown next to the form control it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The form control's name (`google_group`, `extra_zoho_2`, ...); `general` for problems
    /// with settings the form does not show.
    pub field: String,
    pub message: String,
}

impl FieldError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }
}

/// One row of the "extra fields" table, as the form carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtraRow {
    /// Zoho api name, or empty.
    pub zoho: String,
    /// A Google field id from [`supported_extra_google_fields`] (the `userDefined.<key>`
    /// template for a custom field), or empty.
    pub google: String,
    /// The label of a custom Google field.
    pub key: String,
}

/// The form's values, as the user sent them (or as the saved settings fill them in).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormState {
    pub google_group: String,
    pub new_group_name: String,
    pub zoho_cvid: String,
    pub direction: String,
    pub conflict_policy: String,
    pub frequency: String,
    pub deletion: String,
    pub extra_rows: Vec<ExtraRow>,
}

/// The serde name of a settings enum value (`two_way`, `zoho_wins`, ...): what the form sends.
fn key_of<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

fn from_key<T: DeserializeOwned>(key: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(key.to_string())).ok()
}

/// The id the page uses for "a custom Google field with a label of your choice".
fn user_defined_template() -> String {
    format!("{USER_DEFINED_PREFIX}<key>")
}

impl FormState {
    pub fn from_settings(s: &Settings) -> Self {
        let template = user_defined_template();
        FormState {
            google_group: s.google_group.clone().unwrap_or_default(),
            new_group_name: String::new(),
            zoho_cvid: s.zoho_cvid.clone().unwrap_or_default(),
            direction: key_of(&s.direction),
            conflict_policy: key_of(&s.conflict_policy),
            frequency: s.frequency.key().to_string(),
            deletion: key_of(&s.deletion),
            extra_rows: s
                .extra_fields
                .iter()
                .map(|pair| match pair.google.strip_prefix(USER_DEFINED_PREFIX) {
                    Some(key) => ExtraRow { zoho: pair.zoho.clone(), google: template.clone(), key: key.to_string() },
                    None => ExtraRow { zoho: pair.zoho.clone(), google: pair.google.clone(), key: String::new() },
                })
                .collect(),
        }
    }

    /// Reads a submitted form. Rows left blank or ticked "remove" are dropped.
    pub fn from_form(form: &BTreeMap<String, String>) -> Self {
        let text = |name: &str| form.get(name).map(|v| v.trim().to_string()).unwrap_or_default();
        let rows: usize = form.get("extra_rows").and_then(|n| n.trim().parse().ok()).unwrap_or(0);
        let extra_rows = (0..rows.min(MAX_EXTRA_ROWS))
            .filter(|i| form.get(&format!("extra_remove_{i}")).is_none())
            .map(|i| ExtraRow { zoho: text(&format!("extra_zoho_{i}")), google: text(&format!("extra_google_{i}")), key: text(&format!("extra_key_{i}")) })
            .filter(|row| !(row.zoho.is_empty() && row.google.is_empty()))
            .collect();
        FormState {
            google_group: text("google_group"),
            new_group_name: text("new_group_name"),
            zoho_cvid: text("zoho_cvid"),
            direction: text("direction"),
            conflict_policy: text("conflict_policy"),
            frequency: text("frequency"),
            deletion: text("deletion"),
            extra_rows,
        }
    }

    pub fn wants_new_group(&self) -> bool {
        self.google_group == NEW_GROUP
    }

    /// The settings these values describe, on top of `base` (which keeps what the form does
    /// not show: budgets and the mass-delete guard), and the problems found reading them.
    /// `pair_rows[i]` is the row of `settings.extra_fields[i]`.
    pub fn to_settings(&self, base: &Settings) -> (Settings, Vec<usize>, Vec<FieldError>) {
        let mut errors = Vec::new();
        let mut settings = base.clone();
        let choose = |field: &str, what: &str, errors: &mut Vec<FieldError>| errors.push(FieldError::new(field, format!("choose {what}")));
        settings.google_group = Some(self.google_group.clone()).filter(|g| !g.is_empty() && !self.wants_new_group());
        settings.zoho_cvid = Some(self.zoho_cvid.clone()).filter(|c| !c.is_empty());
        match from_key::<Direction>(&self.direction) {
            Some(d) => settings.direction = d,
            None => choose("direction", "a direction", &mut errors),
        }
        match from_key::<ConflictPolicy>(&self.conflict_policy) {
            Some(c) => settings.conflict_policy = c,
            None => choose("conflict_policy", "which side wins a conflict", &mut errors),
        }
        match self.frequency.parse::<Frequency>() {
            Ok(f) => settings.frequency = f,
            Err(_) => choose("frequency", "how often to sync", &mut errors),
        }
        match from_key::<DeletionHandling>(&self.deletion) {
            Some(d) => settings.deletion = d,
            None => choose("deletion", "what a deletion does", &mut errors),
        }
        let template = user_defined_template();
        let mut pairs = Vec::new();
        let mut pair_rows = Vec::new();
        for (i, row) in self.extra_rows.iter().enumerate() {
            let google = if row.google == template {
                if row.key.is_empty() {
                    errors.push(FieldError::new(format!("extra_key_{i}"), "type a label for the custom Google field"));
                    continue;
                }
                format!("{USER_DEFINED_PREFIX}{}", row.key)
            } else {
                row.google.clone()
            };
            if row.zoho.is_empty() {
                errors.push(FieldError::new(format!("extra_zoho_{i}"), "choose the Zoho field for this pair, or leave both sides empty"));
                continue;
            }
            if google.is_empty() {
                errors.push(FieldError::new(format!("extra_google_{i}"), "choose the Google field for this pair, or leave both sides empty"));
                continue;
            }
            pairs.push(FieldPair { zoho: row.zoho.clone(), google });
            pair_rows.push(i);
        }
        settings.extra_fields = pairs;
        (settings, pair_rows, errors)
    }
}

/// The form control a validation problem belongs next to.
fn field_of(error: &SettingsError, pair_rows: &[usize]) -> String {
    let setting = error.setting();
    let pair = |rest: &str| -> Option<(usize, String)> {
        let (index, side) = rest.strip_prefix("extra_fields[")?.split_once("].")?;
        let index: usize = index.parse().ok()?;
        Some((*pair_rows.get(index)?, side.to_string()))
    };
    match setting.as_str() {
        "direction" | "deletion" | "google_group" | "zoho_cvid" => setting,
        other => match pair(other) {
            Some((row, side)) => format!("extra_{side}_{row}"),
            None => "general".into(),
        },
    }
}

/// Validation messages say "extra pair N" by position among the pairs; the page shows them on
/// the pair's own row, where the number is noise.
fn message_of(error: &SettingsError) -> String {
    let text = error.to_string();
    match text.strip_prefix("extra pair ").and_then(|rest| rest.split_once(": ")) {
        Some((_, message)) => message.to_string(),
        None => text,
    }
}

/// A Google contact group the user may pick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupChoice {
    pub resource_name: String,
    pub name: String,
}

/// What the form offers, read live from both APIs.
#[derive(Debug, Clone, Default)]
pub struct Choices {
    /// Every group, for validation (system groups other than My Contacts are refused there).
    pub groups: Vec<GoogleGroupInfo>,
    /// My Contacts first, then the user's own groups by name.
    pub group_choices: Vec<GroupChoice>,
    pub views: Vec<CustomView>,
    pub fields: Vec<FieldMeta>,
}

impl Choices {
    pub fn new(groups: Vec<ContactGroup>, views: Vec<CustomView>, fields: Vec<FieldMeta>) -> Self {
        let infos = groups.iter().map(|g| GoogleGroupInfo { resource_name: g.resource_name.clone(), system: !g.is_user_group() }).collect();
        let mut own: Vec<GroupChoice> = groups
            .iter()
            .filter(|g| g.is_user_group())
            .map(|g| GroupChoice { resource_name: g.resource_name.clone(), name: g.formatted_name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| g.name.clone()) })
            .collect();
        own.sort_by_key(|g| g.name.to_lowercase());
        let mut group_choices = vec![GroupChoice { resource_name: MY_CONTACTS_GROUP.into(), name: "My Contacts (every contact)".into() }];
        group_choices.extend(own);
        Choices { groups: infos, group_choices, views, fields }
    }

    fn context(&self, permissions: ZohoPermissions) -> ValidationContext {
        ValidationContext {
            zoho_fields: self.fields.iter().map(|f| f.api_name.clone()).collect(),
            permissions,
            google_groups: self.groups.clone(),
            zoho_views: self.views.iter().map(|v| v.id.clone()).collect(),
        }
    }

    /// The report with the group and the list by name rather than by id.
    fn named(&self, mut report: StatusReport) -> StatusReport {
        let s = &mut report.settings;
        if let Some(group) = s.google_group.as_deref().and_then(|g| self.group_choices.iter().find(|c| c.resource_name == g)) {
            s.google_group = Some(group.name.clone());
        }
        if let Some(view) = s.zoho_custom_view.as_deref().and_then(|v| self.views.iter().find(|c| c.id == v)) {
            s.zoho_custom_view = Some(view.display_value.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| view.name.clone()));
        }
        report
    }

    fn zoho_label(&self, api_name: &str) -> String {
        self.fields
            .iter()
            .find(|f| f.api_name == api_name)
            .and_then(|f| f.field_label.clone())
            .unwrap_or_else(|| api_name.to_string())
    }
}

/// Everything the page shows.
pub struct PageModel<'a> {
    pub state: &'a FormState,
    pub errors: &'a [FieldError],
    pub choices: &'a Choices,
    pub permissions: ZohoPermissions,
    pub csrf: &'a str,
    /// A short confirmation after a redirect ("Settings saved.").
    pub notice: Option<&'static str>,
    /// The status summary, once the connection has a group and a list to sync.
    pub status: Option<&'a StatusReport>,
}

impl PageModel<'_> {
    fn errors_for(&self, field: &str) -> Vec<&str> {
        self.errors.iter().filter(|e| e.field == field).map(|e| e.message.as_str()).collect()
    }

    /// `aria-*` attributes for a control with problems.
    fn invalid(&self, field: &str) -> String {
        if self.errors_for(field).is_empty() {
            String::new()
        } else {
            format!(" aria-invalid=\"true\" aria-describedby=\"{}-error\"", escape(field))
        }
    }

    /// The problems of one control, right after it.
    fn error_text(&self, field: &str) -> String {
        let messages = self.errors_for(field);
        if messages.is_empty() {
            return String::new();
        }
        let text: Vec<String> = messages.iter().map(|m| escape(m)).collect();
        format!("<p class=\"error\" id=\"{}-error\" role=\"alert\">{}</p>", escape(field), text.join("<br>"))
    }
}

fn selected(yes: bool) -> &'static str {
    if yes {
        " selected"
    } else {
        ""
    }
}

fn checked(yes: bool) -> &'static str {
    if yes {
        " checked"
    } else {
        ""
    }
}

fn direction_label(d: Direction) -> &'static str {
    match d {
        Direction::TwoWay => "Two-way",
        Direction::ZohoToGoogle => "Zoho → Google only",
        Direction::GoogleToZoho => "Google → Zoho only",
    }
}

fn frequency_label(f: Frequency) -> &'static str {
    match f {
        Frequency::Min15 => "Every 15 minutes",
        Frequency::Hour1 => "Every hour",
        Frequency::Hour3 => "Every 3 hours",
        Frequency::Hour6 => "Every 6 hours",
        Frequency::Hour12 => "Every 12 hours",
        Frequency::Hour24 => "Every 24 hours",
    }
}

/// Why some directions are off for this user, or `None` when all are open.
pub fn direction_restriction(p: &ZohoPermissions) -> Option<String> {
    let missing: Vec<&str> = [(p.create, "Create"), (p.edit, "Edit")].into_iter().filter(|(ok, _)| !ok).map(|(_, name)| name).collect();
    (!missing.is_empty()).then(|| {
        format!(
            "Your Zoho CRM profile does not have the {} permission on Contacts, so this sync cannot write to Zoho: only “Zoho → Google only” is possible. \
             Ask your Zoho CRM administrator for it, then reconnect Zoho CRM.",
            missing.join(" and ")
        )
    })
}

fn radios<T: Copy + Serialize>(m: &PageModel, name: &str, legend: &str, current: &str, options: &[(T, &str, Option<&str>)], after_legend: &str) -> String {
    let mut out = format!("<fieldset id=\"{name}\"{}><legend>{}</legend>{after_legend}", m.invalid(name), escape(legend));
    for (value, label, disabled_reason) in options {
        let key = key_of(value);
        let id = format!("{name}-{key}");
        let disabled = if disabled_reason.is_some() { " disabled aria-describedby=\"direction-reason\"" } else { "" };
        out += &format!(
            "<div><input type=\"radio\" name=\"{name}\" id=\"{id}\" value=\"{}\"{}{disabled}> <label for=\"{id}\">{}</label></div>",
            escape(&key),
            checked(current == key),
            escape(label),
        );
    }
    out += &m.error_text(name);
    out += "</fieldset>";
    out
}

fn zoho_field_options(choices: &Choices, current: &str) -> String {
    let defaults = Mapping::default();
    let mut out = format!("<option value=\"\"{}>— choose a Zoho field —</option>", selected(current.is_empty()));
    let mut found = current.is_empty();
    for f in choices.fields.iter().filter(|f| defaults.spec(&f.api_name).is_none()) {
        let is_current = f.api_name == current;
        found |= is_current;
        let label = f.field_label.clone().unwrap_or_else(|| f.api_name.clone());
        let note = if f.writable() { "" } else { ", read-only" };
        out += &format!("<option value=\"{}\"{}>{} ({}{note})</option>", escape(&f.api_name), selected(is_current), escape(&label), escape(&f.api_name));
    }
    if !found {
        // Keep what was sent visible, so its error makes sense next to it.
        out += &format!("<option value=\"{}\" selected>{} (not found)</option>", escape(current), escape(current));
    }
    out
}

fn google_field_options(options: &[GoogleFieldOption], current: &str) -> String {
    let mut out = format!("<option value=\"\"{}>— choose a Google field —</option>", selected(current.is_empty()));
    let mut found = current.is_empty();
    for o in options {
        let is_current = o.id == current;
        found |= is_current;
        out += &format!("<option value=\"{}\"{}>{}</option>", escape(&o.id), selected(is_current), escape(&o.label));
    }
    if !found {
        out += &format!("<option value=\"{}\" selected>{} (not supported)</option>", escape(current), escape(current));
    }
    out
}

fn extra_row(m: &PageModel, options: &[GoogleFieldOption], i: usize, row: &ExtraRow, blank: bool) -> String {
    let (z, g, k, r) = (format!("extra_zoho_{i}"), format!("extra_google_{i}"), format!("extra_key_{i}"), format!("extra_remove_{i}"));
    let remove = if blank {
        "<td></td>".to_string()
    } else {
        format!("<td><input type=\"checkbox\" name=\"{r}\" id=\"{r}\" value=\"1\"> <label for=\"{r}\">Remove</label></td>")
    };
    format!(
        "<tr{}><td><label for=\"{z}\">Zoho field</label><br><select name=\"{z}\" id=\"{z}\"{}>{}</select>{}</td>\
         <td><label for=\"{g}\">Google field</label><br><select name=\"{g}\" id=\"{g}\"{}>{}</select>{}</td>\
         <td><label for=\"{k}\">Custom field label</label><br><input type=\"text\" name=\"{k}\" id=\"{k}\" value=\"{}\" maxlength=\"60\"{}>{}</td>{remove}</tr>",
        if blank { " id=\"map-another-field\"" } else { "" },
        m.invalid(&z),
        zoho_field_options(m.choices, &row.zoho),
        m.error_text(&z),
        m.invalid(&g),
        google_field_options(options, &row.google),
        m.error_text(&g),
        escape(&row.key),
        m.invalid(&k),
        m.error_text(&k),
    )
}

/// The whole page.
pub fn render_page(m: &PageModel) -> String {
    let s = m.state;
    let mut body = String::from("<h1>Sync settings</h1>");
    if let Some(notice) = m.notice {
        body += &format!("<p id=\"notice\" role=\"status\"><strong>{}</strong></p>", escape(notice));
    }
    if let Some(report) = m.status {
        body += &format!(
            "<section id=\"status\" aria-labelledby=\"status-heading\"><h2 id=\"status-heading\">Sync status</h2>{}\
             <form method=\"post\" action=\"/sync-now\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\" id=\"sync-now\">Sync now</button></form></section>",
            render_summary(report),
            escape(m.csrf)
        );
    } else {
        body += "<p>Choose what to sync and save; the schedule starts syncing once a group and a list are saved.</p>";
    }
    body += &format!(
        "<h2>What to sync</h2><form method=\"post\" action=\"/settings\" id=\"settings-form\" novalidate><input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(m.csrf)
    );
    if !m.errors.is_empty() {
        let n = m.errors.len();
        body += &format!(
            "<div id=\"form-errors\" class=\"error\" role=\"alert\"><p><strong>Nothing was saved: {n} problem{} to fix (shown next to each field).</strong></p>{}</div>",
            if n == 1 { "" } else { "s" },
            m.error_text("general")
        );
    }

    // Scope: one Google group ⇄ one Zoho list.
    body += "<fieldset><legend>Contacts to sync</legend>";
    body += &format!("<p><label for=\"google_group\">Google contact group (label)</label><br><select name=\"google_group\" id=\"google_group\"{}>", m.invalid("google_group"));
    body += &format!("<option value=\"\"{}>— choose a group —</option>", selected(s.google_group.is_empty()));
    for g in &m.choices.group_choices {
        body += &format!("<option value=\"{}\"{}>{}</option>", escape(&g.resource_name), selected(s.google_group == g.resource_name), escape(&g.name));
    }
    if !s.google_group.is_empty() && !s.wants_new_group() && !m.choices.group_choices.iter().any(|g| g.resource_name == s.google_group) {
        body += &format!("<option value=\"{}\" selected>{} (not found)</option>", escape(&s.google_group), escape(&s.google_group));
    }
    body += &format!("<option value=\"{NEW_GROUP}\"{}>New group…</option></select>{}</p>", selected(s.wants_new_group()), m.error_text("google_group"));
    body += &format!(
        "<p><label for=\"new_group_name\">Name for a new group (with “New group…” chosen above; it is created when you save)</label><br>\
         <input type=\"text\" name=\"new_group_name\" id=\"new_group_name\" maxlength=\"{MAX_GROUP_NAME}\" value=\"{}\"{}>{}</p>",
        escape(&s.new_group_name),
        m.invalid("new_group_name"),
        m.error_text("new_group_name")
    );
    body += &format!("<p><label for=\"zoho_cvid\">Zoho CRM list (custom view)</label><br><select name=\"zoho_cvid\" id=\"zoho_cvid\"{}>", m.invalid("zoho_cvid"));
    body += &format!("<option value=\"\"{}>— choose a list —</option>", selected(s.zoho_cvid.is_empty()));
    for v in &m.choices.views {
        let name = v.display_value.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| v.name.clone());
        body += &format!("<option value=\"{}\"{}>{}</option>", escape(&v.id), selected(s.zoho_cvid == v.id), escape(&name));
    }
    if !s.zoho_cvid.is_empty() && !m.choices.views.iter().any(|v| v.id == s.zoho_cvid) {
        body += &format!("<option value=\"{}\" selected>{} (not found)</option>", escape(&s.zoho_cvid), escape(&s.zoho_cvid));
    }
    body += &format!("</select>{}</p></fieldset>", m.error_text("zoho_cvid"));

    // Direction: without Zoho write rights only Zoho → Google, and the page says why.
    let restriction = direction_restriction(&m.permissions);
    let reason = restriction.as_deref();
    let reason_html = reason.map(|r| format!("<p id=\"direction-reason\">{}</p>", escape(r))).unwrap_or_default();
    body += &radios(
        m,
        "direction",
        "Direction",
        &s.direction,
        &[
            (Direction::TwoWay, direction_label(Direction::TwoWay), reason),
            (Direction::ZohoToGoogle, direction_label(Direction::ZohoToGoogle), None),
            (Direction::GoogleToZoho, direction_label(Direction::GoogleToZoho), reason),
        ],
        &reason_html,
    );
    body += &radios(
        m,
        "conflict_policy",
        "When both sides changed the same field",
        &s.conflict_policy,
        &[(ConflictPolicy::ZohoWins, "Zoho CRM wins", None), (ConflictPolicy::GoogleWins, "Google wins", None)],
        "",
    );
    body += &format!("<p><label for=\"frequency\">How often to sync</label><br><select name=\"frequency\" id=\"frequency\"{}>", m.invalid("frequency"));
    for f in Frequency::ALL {
        body += &format!("<option value=\"{}\"{}>{}</option>", f.key(), selected(s.frequency == f.key()), frequency_label(f));
    }
    body += &format!("</select>{}</p>", m.error_text("frequency"));
    let delete_note = if m.permissions.delete {
        ""
    } else {
        "<p id=\"deletion-note\">Your Zoho CRM profile cannot delete Contacts: with a direction that writes to Zoho, choose “keep the other contact”.</p>"
    };
    body += &radios(
        m,
        "deletion",
        "When a contact is deleted on one side",
        &s.deletion,
        &[
            (DeletionHandling::Propagate, "Delete the linked contact on the other side", None),
            (DeletionHandling::UnlinkAndKeep, "Keep the other contact (stop syncing it)", None),
        ],
        delete_note,
    );

    // Field mapping: the defaults, then the user's own pairs and an empty row to add one.
    body += "<h2>Field mapping</h2><table id=\"default-mapping\"><caption>Always synced</caption><tr><th scope=\"col\">Zoho CRM field</th><th scope=\"col\">Google field</th></tr>";
    for spec in Mapping::default().fields() {
        let note = if spec.zoho_writable { "" } else { " (Zoho → Google only)" };
        body += &format!("<tr><td>{}</td><td>{}{note}</td></tr>", escape(&m.choices.zoho_label(&spec.zoho)), escape(&spec.google.label()));
    }
    body += "</table>";
    let options = supported_extra_google_fields();
    body += "<table id=\"extra-mapping\"><caption>Your extra fields</caption><tr><th scope=\"col\">Zoho CRM</th><th scope=\"col\">Google</th><th scope=\"col\">For a custom Google field</th><th scope=\"col\"></th></tr>";
    for (i, row) in s.extra_rows.iter().enumerate() {
        body += &extra_row(m, &options, i, row, false);
    }
    let blank = s.extra_rows.len();
    body += "<tr><th colspan=\"4\" scope=\"rowgroup\">Map another field</th></tr>";
    body += &extra_row(m, &options, blank, &ExtraRow::default(), true);
    body += &format!("</table><input type=\"hidden\" name=\"extra_rows\" value=\"{}\">", blank + 1);
    body += "<p><button type=\"submit\" id=\"save\">Save</button></p></form><p><a href=\"/\">Your connection</a></p>";
    page("Sync settings", &body)
}

/// Why the page could not read what it offers.
#[derive(Debug, thiserror::Error)]
enum ChoicesError {
    #[error("{0}")]
    Google(#[from] GoogleError),
    #[error("{0}")]
    Zoho(#[from] ZohoError),
}

impl ChoicesError {
    fn into_failure(self) -> Failure {
        let needs_reconnect = match &self {
            ChoicesError::Google(e) => e.needs_reconnect(),
            ChoicesError::Zoho(e) => e.needs_reconnect(),
        };
        let (provider, start) = match &self {
            ChoicesError::Google(_) => ("Google", "/oauth/google/start"),
            ChoicesError::Zoho(_) => ("Zoho CRM", "/oauth/zoho/start"),
        };
        if needs_reconnect {
            user_error(409, "Reconnect your account", format!("{provider} no longer accepts this app's access. <a href=\"{start}\">Connect {provider} again</a>."))
        } else {
            user_error(502, "Could not read your groups, lists and fields", format!("{provider} answered: {}. <a href=\"/settings\">Try again</a>.", escape(&self.to_string())))
        }
    }
}

impl Connector<'_> {
    /// The signed-in user's connection and session cookie.
    async fn signed_in(&self, request: &WebRequest, now: EpochMillis) -> Result<(Connection, String), Failure> {
        let Some((id, cookie)) = self.session(request, now) else {
            return Err(user_error(401, "You are not signed in", format!("Open this page from the browser where you connected. {START_AGAIN}")));
        };
        let connection = self.store.get_connection(&id).await?.ok_or_else(|| user_error(404, "No such connection", START_AGAIN))?;
        Ok((connection, cookie))
    }

    fn check_csrf(&self, request: &WebRequest, cookie: &str) -> Result<(), Failure> {
        let form = request.form();
        if form.get("csrf").is_some_and(|t| session::verify_csrf(self.config.session_key(), cookie, t)) {
            Ok(())
        } else {
            Err(user_error(403, "This form has expired", "<a href=\"/settings\">Reload the settings page</a> and try again."))
        }
    }

    /// Both API clients with the user's own tokens (so they list only what the user may see).
    async fn page_clients(&self, connection: &Connection) -> Result<(GoogleClient, ZohoClient), Failure> {
        let google_token = self.vault.get_token(&connection.id, Provider::Google).await?;
        let zoho_token = self.vault.get_token(&connection.id, Provider::Zoho).await?;
        let (Some(google_token), Some(zoho_token)) = (google_token, zoho_token) else {
            return Err(user_error(409, "Connect both accounts first", START_AGAIN));
        };
        let deadline = Some(tokio::time::Instant::now() + API_TIME);
        let google_tokens = self.api_tokens.get_or_insert(&connection.id, Provider::Google, google_token.expose(), || {
            // Refreshing sends no redirect URI; only the code exchange uses it.
            let endpoint = self.config.google.token_endpoint(&self.config.app.google_client_id, self.config.app.google_client_secret.expose(), "");
            AccessTokenCache::new(self.http.clone(), endpoint, google_token.expose().to_string())
        });
        let google = GoogleClient::new(self.http.clone(), &self.config.google.people_url, google_tokens).with_deadline(deadline);

        let reconnect = || user_error(409, "Reconnect Zoho CRM", format!("Your Zoho CRM data centre is not known. {START_AGAIN}"));
        let overrides = (self.config.zoho_overrides.0.as_deref(), self.config.zoho_overrides.1.as_deref());
        let accounts = connection.zoho_accounts_server.as_deref().ok_or_else(reconnect)?;
        let accounts = zoho::validate_accounts_server(accounts, overrides.0).map_err(|_| reconnect())?;
        let api_domain = connection.zoho_api_domain.as_deref().ok_or_else(reconnect)?;
        let api_domain = zoho::validate_api_domain(api_domain, overrides.1).map_err(|_| reconnect())?;
        let zoho_tokens = self.api_tokens.get_or_insert(&connection.id, Provider::Zoho, zoho_token.expose(), || {
            let endpoint = zoho::token_endpoint(&accounts, &self.config.app.zoho_client_id, self.config.app.zoho_client_secret.expose(), "");
            AccessTokenCache::new(self.http.clone(), endpoint, zoho_token.expose().to_string())
        });
        let zoho = ZohoClient::new(self.http.clone(), api_domain.as_str(), zoho_tokens).with_deadline(deadline);
        Ok((google, zoho))
    }

    async fn load_choices(google: &GoogleClient, zoho: &ZohoClient) -> Result<Choices, ChoicesError> {
        let (groups, views, fields) = tokio::join!(google.list_contact_groups(), zoho.custom_views(), zoho.contact_fields());
        Ok(Choices::new(groups?, views?, fields?))
    }

    async fn status_of(&self, connection: &Connection, choices: &Choices, now: EpochMillis) -> Result<Option<StatusReport>, Failure> {
        if !is_configured(&connection.settings) {
            return Ok(None);
        }
        let runs = self.store.latest_runs(&connection.id, RUNS_READ).await?;
        let cursors = self.store.get_cursors(&connection.id).await?;
        Ok(Some(choices.named(build_report(connection, &runs, &cursors, now))))
    }

    pub(super) async fn settings_page(&self, request: &WebRequest, now: EpochMillis) -> Result<WebResponse, Failure> {
        let (connection, cookie) = self.signed_in(request, now).await?;
        let (google, zoho) = self.page_clients(&connection).await?;
        let choices = Self::load_choices(&google, &zoho).await.map_err(ChoicesError::into_failure)?;
        let status = self.status_of(&connection, &choices, now).await?;
        let notice = match (request.query.get("saved"), request.query.get("sync")) {
            (Some(_), _) => Some("Settings saved. They apply from the next sync."),
            (None, Some(_)) => Some("A sync was started. Its result shows below when it has finished; reload the page to see it."),
            _ => None,
        };
        let state = FormState::from_settings(&connection.settings);
        let csrf = session::csrf_token(self.config.session_key(), &cookie);
        let model = PageModel { state: &state, errors: &[], choices: &choices, permissions: connection.zoho_permissions, csrf: &csrf, notice, status: status.as_ref() };
        Ok(WebResponse::html(200, render_page(&model)))
    }

    pub(super) async fn save_settings(&self, request: &WebRequest, now: EpochMillis) -> Result<WebResponse, Failure> {
        let (mut connection, cookie) = self.signed_in(request, now).await?;
        self.check_csrf(request, &cookie)?;
        let state = FormState::from_form(&request.form());
        let (mut settings, pair_rows, mut errors) = state.to_settings(&connection.settings);
        let (google, zoho) = self.page_clients(&connection).await?;
        let choices = Self::load_choices(&google, &zoho).await.map_err(ChoicesError::into_failure)?;
        if let Err(problems) = validate(&settings, &choices.context(connection.zoho_permissions)) {
            for problem in problems {
                let field = field_of(&problem, &pair_rows);
                // A group still to be created is checked below, by its name.
                if state.wants_new_group() && field == "google_group" {
                    continue;
                }
                // A problem the form reported already (an unreadable choice) is not repeated.
                if !errors.iter().any(|e| e.field == field) {
                    errors.push(FieldError::new(field, message_of(&problem)));
                }
            }
        }
        let new_group_name = state.new_group_name.trim();
        if state.wants_new_group() {
            if new_group_name.is_empty() {
                errors.push(FieldError::new("new_group_name", "type a name for the new group"));
            } else if new_group_name.chars().count() > MAX_GROUP_NAME {
                errors.push(FieldError::new("new_group_name", format!("the name is longer than {MAX_GROUP_NAME} characters")));
            } else if choices.group_choices.iter().any(|g| g.name.eq_ignore_ascii_case(new_group_name)) {
                errors.push(FieldError::new("new_group_name", "a group with this name exists already; choose it in the list above"));
            }
        }
        if errors.is_empty() && state.wants_new_group() {
            match google.create_contact_group(new_group_name).await {
                Ok(group) => settings.google_group = Some(group.resource_name),
                Err(GoogleError::GroupAlreadyExists) => {
                    errors.push(FieldError::new("new_group_name", "a group with this name exists already; choose it in the list above"))
                }
                Err(e) => errors.push(FieldError::new("new_group_name", format!("Google did not create the group: {e}"))),
            }
        }
        if !errors.is_empty() {
            tracing::info!(connection = %connection.id, problems = errors.len(), "settings refused");
            let csrf = session::csrf_token(self.config.session_key(), &cookie);
            let status = self.status_of(&connection, &choices, now).await?;
            let model = PageModel { state: &state, errors: &errors, choices: &choices, permissions: connection.zoho_permissions, csrf: &csrf, notice: None, status: status.as_ref() };
            return Ok(WebResponse::html(422, render_page(&model)));
        }
        connection.frequency = settings.frequency;
        connection.settings = settings;
        connection.updated_at = now;
        self.store.put_connection(&connection).await?;
        tracing::info!(connection = %connection.id, frequency = %connection.frequency, "settings saved");
        Ok(see_other("/settings?saved=1"))
    }

    pub(super) async fn sync_now(&self, request: &WebRequest, now: EpochMillis) -> Result<WebResponse, Failure> {
        let (connection, cookie) = self.signed_in(request, now).await?;
        self.check_csrf(request, &cookie)?;
        if !is_configured(&connection.settings) {
            return Err(user_error(409, "Choose what to sync first", "<a href=\"/settings\">Choose a Google group and a Zoho list</a> and save, then sync."));
        }
        if !connection.enabled || connection.reconnect_needed {
            return Err(user_error(409, "The sync is off", format!("One of your accounts needs connecting again. {START_AGAIN}")));
        }
        if let Err(e) = self.sync.sync_now(&connection.id).await {
            tracing::warn!(connection = %connection.id, error = %e, "sync now failed to start");
            return Err(user_error(503, "The sync could not be started", "Nothing was changed. Please try again in a minute. <a href=\"/settings\">Back to the settings</a>."));
        }
        Ok(see_other("/settings?sync=started"))
    }
}

/// A group and a list are chosen: the connection has something to sync.
pub fn is_configured(settings: &Settings) -> bool {
    settings.is_configured()
}

/// After a POST: the browser loads `location` with a GET, so a reload does not post again.
fn see_other(location: &str) -> WebResponse {
    let mut response = WebResponse::redirect(location);
    response.status = 303;
    response
}

#[cfg(test)]
mod tests;
