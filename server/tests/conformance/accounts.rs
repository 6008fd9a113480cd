//! Console accounts: roles, with the last active administrator kept.

use crate::common::{add_user, audit};
use crate::Harness;
use pathfinder::storage::Storage;
use pathfinder::{AppError, Role, UserId};

checks!(
    console_roles_change_with_the_last_admin_kept,
    the_last_active_admin_stays,
    locking_an_administrator_out_needs_a_fresh_sign_in
);

/// Suspending, deleting or deactivating an administrator, or taking their admin role
/// away, needs the caller's password within the last minutes, as granting it does;
/// refused, nothing changes. Anyone else's status needs no more than before.
fn locking_an_administrator_out_needs_a_fresh_sign_in(h: &Harness) {
    let s = h.s();
    add_user(s, "lock_spare_admin", "active", &[Role::Admin]);
    let target = add_user(s, "lock_target_admin", "active", &[Role::Admin]);
    for status in ["suspended", "deleted", "deactivated", "pending"] {
        let refused = s.set_account_status(&target, status, false, &audit("user.status"));
        assert!(
            matches!(&refused, Err(AppError::Invalid(m)) if m.contains("Confirm it is you")),
            "{status}: {refused:?}"
        );
        assert_eq!(s.user_profile(&target).unwrap().summary.account_status, "active");
    }
    let refused = s.set_console_roles(&target, &[Role::Sre], false, &audit("user.roles"));
    assert!(matches!(&refused, Err(AppError::Invalid(m)) if m.contains("Confirm it is you")), "{refused:?}");
    assert_eq!(s.user_profile(&target).unwrap().roles, vec![Role::Admin], "roles unchanged");
    s.set_console_roles(&target, &[Role::Admin, Role::Sre], false, &audit("user.roles")).unwrap();
    s.set_account_status(&target, "suspended", true, &audit("user.status")).unwrap();
    let sre = add_user(s, "lock_plain_sre", "active", &[Role::Sre]);
    s.set_account_status(&sre, "suspended", false, &audit("user.status")).unwrap();
}

/// Roles are replaced in one audited step; the last active admin keeps theirs.
fn console_roles_change_with_the_last_admin_kept(h: &Harness) {
    let s = h.s();
    let id = add_user(s, "roles_user", "active", &[]);
    let (before, after) =
        s.set_console_roles(&id, &[Role::Sre, Role::Sre, Role::Compliance], true, &audit("user.roles")).unwrap();
    assert_eq!((before, after.clone()), (vec![], vec![Role::Compliance, Role::Sre]));
    let row = s.recent_audit(1).unwrap().remove(0);
    assert_eq!(row.action, "user.roles");
    assert_eq!(s.user_profile(&id).unwrap().roles, after);
    assert!(s.console_accounts().unwrap().iter().any(|a| a.user_id == id && a.roles == after));
    s.set_console_roles(&id, &[], true, &audit("user.roles")).unwrap();
    assert!(s.user_profile(&id).unwrap().roles.is_empty());
    assert!(matches!(
        s.set_console_roles(&UserId::new(), &[Role::Sre], true, &audit("user.roles")),
        Err(AppError::NotFound(_))
    ));
    // A new grant of admin needs the granter's recent confirmation; keeping one does not.
    let refused = s.set_console_roles(&id, &[Role::Admin], false, &audit("user.roles"));
    assert!(matches!(&refused, Err(AppError::Invalid(m)) if m.contains("Confirm it is you")), "{refused:?}");
    assert!(s.user_profile(&id).unwrap().roles.is_empty(), "a refused grant changes nothing");
    s.set_console_roles(&id, &[Role::Admin], true, &audit("user.roles")).unwrap();
    s.set_console_roles(&id, &[Role::Admin, Role::Sre], false, &audit("user.roles")).unwrap();
    add_user(s, "roles_admin", "active", &[Role::Admin]);
    // Every active admin but one loses the role: the last one cannot.
    let admins: Vec<UserId> = s
        .console_accounts()
        .unwrap()
        .into_iter()
        .filter(|a| a.roles.contains(&Role::Admin) && a.account_status == "active")
        .map(|a| a.user_id)
        .collect();
    assert_eq!(admins.len(), 2);
    let (last, others) = admins.split_last().unwrap();
    for other in others {
        s.set_console_roles(other, &[Role::Sre], true, &audit("user.roles")).unwrap();
    }
    assert!(matches!(s.set_console_roles(last, &[Role::Sre], true, &audit("user.roles")), Err(AppError::Conflict(_))));
    assert!(s.user_profile(last).unwrap().roles.contains(&Role::Admin));
    for other in others {
        s.set_console_roles(other, &[Role::Admin], true, &audit("user.roles")).unwrap();
    }
}

/// The last active administrator cannot be suspended or deleted, also when two
/// administrators suspend each other at the same moment; inactive admins do not count.
fn the_last_active_admin_stays(h: &Harness) {
    let s = h.storage.as_ref();
    let before = s.count_admins().unwrap();
    // Every other active admin out of the way, by SQL, as another tool might.
    (h.raw)("UPDATE pf_users SET account_status = 'deactivated' WHERE user_id IN (SELECT user_id FROM pf_console_roles WHERE role = 'admin')");
    assert_eq!(s.count_admins().unwrap(), 0, "inactive admins do not count");
    let ann = add_user(s, "adm_ann", "active", &[Role::Admin]);
    let bob = add_user(s, "adm_bob", "active", &[Role::Admin]);
    let suspend =
        |s: &dyn Storage, id: &UserId| s.set_account_status(id, "suspended", true, &audit("user.status.suspended"));
    // At the same moment (both instances open, then released together), each
    // suspends the other: one wins, one is refused.
    let start = std::sync::Arc::new(std::sync::Barrier::new(2));
    let results: Vec<_> = [ann.clone(), bob.clone()]
        .into_iter()
        .map(|target| {
            let other = (h.another_instance)();
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                suspend(other.as_ref(), &target)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().any(|r| matches!(r, Err(AppError::Conflict(_)))), "{results:?}");
    assert_eq!(s.count_admins().unwrap(), 1);
    let last = if results[0].is_ok() { &bob } else { &ann };
    assert!(matches!(s.delete_user(last, &audit("user.delete")), Err(AppError::Conflict(_))));
    assert!(matches!(suspend(s, last), Err(AppError::Conflict(_))));
    assert_eq!(s.user_profile(last).unwrap().summary.account_status, "active", "refused, nothing changed");
    // A non-admin is never held back by the rule.
    let cy = add_user(s, "adm_cy", "active", &[Role::Sre]);
    suspend(s, &cy).unwrap();
    (h.raw)("UPDATE pf_users SET account_status = 'active' WHERE user_id IN (SELECT user_id FROM pf_console_roles WHERE role = 'admin')");
    assert_eq!(s.count_admins().unwrap(), before + 2);
}
