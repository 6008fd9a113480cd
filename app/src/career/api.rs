//! Career data's server functions: a page of a section, and one row's self-written
//! text revealed with a reason.

use leptos::prelude::*;
use pathfinder::career::{CareerPage, Revealed};
use pathfinder::AppError;

/// A page of one section of a user's career data (`None`: they have no table set).
#[server(prefix = "/api", endpoint = "career_page")]
pub async fn get_career_page(
    user_id: String,
    section: String,
    #[server(default)] conversation: String,
    #[server(default)] after: String,
) -> Result<Option<CareerPage>, AppError> {
    use pathfinder::career::CareerQuery;
    use pathfinder::storage::CAREER_READ;
    crate::server::serve::<GetCareerPage, _>(async |c| {
        let query = CareerQuery::from_query(&section, &conversation, &after)?;
        let entity = ("user", Some(user_id.clone()));
        let what = query.describe();
        c.read(CAREER_READ, entity, &what, move |s| s.career_page(&pathfinder::UserId(user_id), &query)).await
    })
    .await
}

/// One row's self-written text in the clear (admins, with a reason); the audit row
/// (section, row and reason) is written in the same transaction as the read.
#[server(prefix = "/api", endpoint = "reveal_career")]
pub async fn reveal_career(
    user_id: String,
    section: String,
    row_id: String,
    reason: String,
) -> Result<Revealed, AppError> {
    use pathfinder::career::{reveal_reason, CareerSection};
    use pathfinder::storage::CAREER_REVEAL;
    crate::server::serve::<RevealCareer, _>(async |c| {
        let section = CareerSection::parse(&section)?;
        let reason = reveal_reason(&reason)?;
        if row_id.is_empty() || row_id.len() > 36 {
            return Err(AppError::invalid("Choose a row to reveal."));
        }
        let entity = ("user", Some(user_id.clone()));
        c.read_with_row(CAREER_REVEAL, entity, move |s, row| {
            let row = row.clone().with_detail(format!("{} row {row_id}: {reason}", section.table()));
            s.reveal_career_text(&pathfinder::UserId(user_id), section, &row_id, &row)
        })
        .await
    })
    .await
}
