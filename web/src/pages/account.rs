//! `/mon-compte`: my bookings, each cancellable with the refund rule shown
//! before confirming, and my subscription with the way to manage it.

use common::bookings::{BookingDto, BookingStatus};
use common::format::{format_date, format_session_dates};
use common::money::format_price;
use common::presence::no_certificate;
use common::subscriptions::{AccessDto, SubscriptionType};
use common::waitlist::{WaitlistEntryDto, WaitlistStatus};
use leptos::prelude::*;

use crate::api;
use crate::browser::today;
use crate::components::feedback::{ErrorLine, Failure, Loading, loaded, resource, send};
use crate::components::profile_form::ProfileForm;
use crate::pages::members::ManageSubscription;

/// A booking's state in French; a refund owed and not made yet (the
/// provider is slow or down) says so.
pub fn status_fr(booking: &BookingDto) -> &'static str {
    if booking.refund_pending {
        return "Remboursement en cours";
    }
    match booking.status {
        BookingStatus::Held => "En attente de paiement",
        BookingStatus::Confirmed => "Confirmée",
        BookingStatus::Cancelled => "Annulée",
        BookingStatus::Expired => "Expirée",
        BookingStatus::Refunded => "Remboursée",
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    if !api::believed_signed_in() {
        return view! {
            <h1>"Mon compte"</h1>
            <p><a href="/connexion?suite=/mon-compte">"Connectez-vous"</a>
                " pour voir vos réservations et votre abonnement."</p>
        }
        .into_any();
    }
    view! {
        <h1>"Mon compte"</h1>
        <VerificationNotice/>
        <MyBookings/>
        <MyWaitlist/>
        <MySubscription/>
        <MyInvoices/>
        <section aria-labelledby="profile-title">
            <h2 id="profile-title">"Mes coordonnées"</h2>
            <ProfileForm saved=|()| ()/>
        </section>
        <ChangePassword/>
        <DeleteAccount/>
    }
    .into_any()
}

/// While the address is unverified: say so, and offer a new mail.
#[component]
fn VerificationNotice() -> impl IntoView {
    let me = resource(api::me);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let sent = RwSignal::new(false);
    let resend = move |_| {
        send(api::resend_verification(), error, Some(busy), move |()| {
            sent.set(true)
        })
    };
    move || {
        let unverified = matches!(me.get(), Some(Ok(Some(ref u))) if !u.email_verified);
        unverified.then(|| view! {
            <section class="notice" aria-labelledby="verify-title">
                <h2 id="verify-title">"Adresse e-mail à confirmer"</h2>
                <p>"Ouvrez le lien de l'e-mail que nous vous avons envoyé pour confirmer votre adresse."</p>
                <Show
                    when=move || sent.get()
                    fallback=move || view! {
                        <button class="secondary" disabled=move || busy.get() on:click=resend>
                            "Renvoyer l'e-mail"
                        </button>
                    }
                >
                    <p class="done" role="status">"Un nouvel e-mail vient d'être envoyé."</p>
                </Show>
                <ErrorLine message=error/>
            </section>
        })
    }
}

/// The current password and a new one; every other session ends.
#[component]
fn ChangePassword() -> impl IntoView {
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let changed = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        changed.set(false);
        send(
            api::change_password(current.get_untracked(), new.get_untracked()),
            error,
            Some(busy),
            move |()| {
                busy.set(false);
                current.set(String::new());
                new.set(String::new());
                changed.set(true);
            },
        );
    };
    view! {
        <section aria-labelledby="password-title">
            <h2 id="password-title">"Mot de passe"</h2>
            <form class="auth" on:submit=submit>
                <label for="current-password">"Mot de passe actuel"</label>
                <input id="current-password" type="password" required autocomplete="current-password"
                    prop:value=current on:input=move |ev| current.set(event_target_value(&ev))/>
                <label for="new-password">"Nouveau mot de passe"</label>
                <input id="new-password" type="password" required minlength="10" autocomplete="new-password"
                    prop:value=new on:input=move |ev| new.set(event_target_value(&ev))/>
                <ErrorLine message=error/>
                <button type="submit" disabled=move || busy.get()>"Changer le mot de passe"</button>
            </form>
            <Show when=move || changed.get()>
                <p class="done" role="status">"Mot de passe changé : vos autres sessions sont fermées."</p>
            </Show>
        </section>
    }
}

#[component]
fn MyBookings() -> impl IntoView {
    let bookings = resource(api::my_bookings);
    let changed = Callback::new(move |()| bookings.refetch());
    view! {
        <section aria-labelledby="bookings-title">
            <h2 id="bookings-title">"Mes réservations"</h2>
            <Transition fallback=|| view! { <Loading/> }>
                {move || bookings.get().map(|r| loaded(
                    r,
                    view! {
                        <p class="empty">"Aucune réservation pour le moment. "
                            <a href="/immersion-elite">"Voir les sessions"</a></p>
                    }.into_any(),
                    |list| view! {
                        <ul class="bookings">
                            {list.into_iter().map(|b| view! { <BookingItem booking=b changed/> }).collect_view()}
                        </ul>
                    }.into_any(),
                ))}
            </Transition>
        </section>
    }
}

/// What cancelling this booking now would do, in words.
fn refund_rule(b: &BookingDto) -> String {
    let amount = format_price(b.amount_cents, &b.currency);
    let until = format_date(b.full_refund_until);
    match b.status {
        BookingStatus::Held => {
            "Le paiement n'a pas abouti : annuler libère la place, rien n'a été débité.".to_owned()
        }
        _ if today() <= b.full_refund_until => format!(
            "Annulation remboursée intégralement ({amount}) jusqu'au {until} inclus ; \
             aucun remboursement après cette date."
        ),
        _ => format!(
            "Le remboursement n'était possible que jusqu'au {until} : \
             cette annulation ne sera pas remboursée."
        ),
    }
}

#[component]
fn BookingItem(booking: BookingDto, changed: Callback<()>) -> impl IntoView {
    let confirming = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let id = booking.id;
    let rule = refund_rule(&booking);
    let cancel = move |_| {
        send(api::cancel_booking(id), error, Some(busy), move |_| {
            changed.run(())
        })
    };
    let actions = booking.status.takes_a_seat().then(|| {
        view! {
            <Show
                when=move || confirming.get()
                fallback=move || view! {
                    <button class="cancel" on:click=move |_| confirming.set(true)>"Annuler la réservation"</button>
                }
            >
                <div class="confirm" role="group" aria-label="Confirmer l'annulation">
                    <p class="refund-rule">{rule.clone()}</p>
                    <button class="confirm-cancel" disabled=move || busy.get() on:click=cancel>
                        "Confirmer l'annulation"
                    </button>
                    <button class="secondary" on:click=move |_| confirming.set(false)>"Garder ma place"</button>
                </div>
            </Show>
        }
    });
    view! {
        <li class="booking" data-booking-id=id.to_string()>
            <strong class="dates">{format_session_dates(booking.starts_on, booking.ends_on)}</strong>
            " · "<span class="location">{booking.location.clone()}</span>
            " · "<span class="amount">{format_price(booking.amount_cents, &booking.currency)}</span>
            " · "<span class="status">{status_fr(&booking)}</span>
            {(booking.status == BookingStatus::Confirmed).then(|| view! {
                " · "<a class="calendar" href=format!("/api/bookings/{id}/calendar.ics") download="">
                    "Ajouter à mon agenda"
                </a>
            })}
            {(booking.status == BookingStatus::Confirmed
                && no_certificate(booking.starts_on, booking.ends_on, today()).is_none()).then(|| view! {
                " · "<a class="certificate" href=format!("/api/bookings/{id}/certificate") target="_blank" rel="noopener">
                    "Attestation de réalisation"
                </a>
            })}
            {booking.invoice_url.clone().map(|url| view! {
                " · "<a class="invoice" href=url target="_blank" rel="noopener">"Facture"</a>
            })}
            {actions}
            <ErrorLine message=error/>
        </li>
    }
}

/// Every invoice (each seat's, each paid period of a subscription) and
/// every credit note that corrects one (`InvoiceDto`, read as the browser
/// parsed it: `json.rs`).
#[component]
fn MyInvoices() -> impl IntoView {
    use crate::json::{int, text};
    let invoices = resource(|| crate::json::get("/api/me/invoices"));
    let rows = move |all: leptos::wasm_bindgen::JsValue| {
        let items = crate::json::items(&all);
        if items.is_empty() {
            return view! { <p class="empty">"Aucune facture pour le moment."</p> }.into_any();
        }
        view! {
            <ul class="invoices">
                {items.into_iter().map(|i| {
                    let issued = common::wire::parse_instant(&text(&i, "issued_at"))
                        .map(|t| format_date(t.date_naive()))
                        .unwrap_or_default();
                    // A credit note gives money back: it says so, and
                    // its amount reads as going back.
                    let credit = text(&i, "kind") == "credit_note";
                    let (what, sign) = if credit { ("Avoir", "−") } else { ("Facture", "") };
                    view! {
                        <li class=if credit { "credit-note" } else { "invoice" }>
                            <a href=text(&i, "url") target="_blank" rel="noopener">
                                {format!("{what} n° {}", text(&i, "number"))}
                            </a>
                            " · "{issued}
                            " · "{text(&i, "description")}
                            " · "<span class="amount">{sign}{format_price(int(&i, "amount_cents"), &text(&i, "currency"))}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <section aria-labelledby="invoices-title">
            <h2 id="invoices-title">"Mes factures"</h2>
            <Transition fallback=|| view! { <Loading/> }>
                {move || invoices.get().map(|r| match r {
                    Ok(all) => rows(all),
                    Err(error) => view! { <Failure error/> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// My places in waiting lists, and the offers to pay.
#[component]
fn MyWaitlist() -> impl IntoView {
    let entries = resource(api::my_waitlist);
    let changed = Callback::new(move |()| entries.refetch());
    view! {
        <section aria-labelledby="waitlist-title">
            <h2 id="waitlist-title">"Listes d'attente"</h2>
            <Transition fallback=|| view! { <Loading/> }>
                {move || entries.get().map(|r| loaded(
                    r,
                    view! { <p class="empty">"Vous n'êtes sur aucune liste d'attente."</p> }.into_any(),
                    |list| view! {
                        <ul class="waitlist">
                            {list.into_iter().map(|e| view! { <WaitlistItem entry=e changed/> }).collect_view()}
                        </ul>
                    }.into_any(),
                ))}
            </Transition>
        </section>
    }
}

#[component]
fn WaitlistItem(entry: WaitlistEntryDto, changed: Callback<()>) -> impl IntoView {
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let session = entry.session_id;
    let leave = move |_| {
        send(api::leave_waitlist(session), error, Some(busy), move |()| {
            changed.run(())
        })
    };
    let state = match (entry.status, entry.booking_id) {
        (WaitlistStatus::Offered, Some(booking)) => {
            let until = entry
                .offer_expires_at
                .map(|t| format!(" jusqu'au {}", crate::browser::local_date_time(t)))
                .unwrap_or_default();
            view! {
                <span class="offer">{format!("Une place vous est réservée{until}.")}</span>
                " "<a class="pay-offer button" href=format!("{}{booking}", crate::pages::thanks::OFFER_PATH)>
                    "Payer ma place"
                </a>
            }
            .into_any()
        }
        _ => view! {
            <span class="place">{format!("N° {} dans la file", entry.place.unwrap_or(1))}</span>
        }
        .into_any(),
    };
    view! {
        <li class="waitlist-entry" data-session-id=session.to_string()>
            <strong class="dates">{format_session_dates(entry.starts_on, entry.ends_on)}</strong>
            " · "<span class="location">{entry.location.clone()}</span>
            " · "{state}
            " "<button class="secondary leave" disabled=move || busy.get() on:click=leave>
                "Quitter la liste"
            </button>
            <ErrorLine message=error/>
        </li>
    }
}

fn plan_fr(t: SubscriptionType) -> &'static str {
    match t {
        SubscriptionType::Free => "Aucun",
        SubscriptionType::PremiumMonthly => "Mensuel",
        SubscriptionType::PremiumYearly => "Annuel",
    }
}

#[component]
fn MySubscription() -> impl IntoView {
    let access = resource(api::access);
    view! {
        <section aria-labelledby="subscription-title">
            <h2 id="subscription-title">"Mon abonnement"</h2>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || access.get().map(|r| match r {
                    Ok(a) if a.subscription_type == SubscriptionType::Free => view! {
                        <p class="empty">"Aucun abonnement. "<a href="/abonnement">"S'abonner"</a></p>
                    }.into_any(),
                    Ok(a) => view! { <Subscription access=a/> }.into_any(),
                    Err(e) => view! { <Failure error=e/> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Subscription(access: AccessDto) -> impl IntoView {
    let period = access.current_period_end.map(|end| {
        let day = format_date(end.date_naive());
        if access.cancel_at_period_end {
            format!("Résilié : l'accès se termine le {day}.")
        } else {
            format!("Renouvellement le {day}.")
        }
    });
    view! {
        <p class="plan">"Formule : "{plan_fr(access.subscription_type)}
            {if access.active { " · actif" } else { " · inactif" }}</p>
        {period.map(|p| view! { <p class="period">{p}</p> })}
        <ManageSubscription/>
    }
}

/// "Supprimer mon compte": what it would do, in money first (read from
/// `GET /api/me/erasure` as the browser parsed it: `json.rs`), then the
/// password typed again.
#[component]
fn DeleteAccount() -> impl IntoView {
    use crate::json::{int, items, list, text};
    let open = RwSignal::new(false);
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let preview = resource(move || {
        let wanted = open.get();
        async move {
            if wanted {
                crate::json::get("/api/me/erasure").await.map(Some)
            } else {
                Ok(None)
            }
        }
    });
    let consequences = move || {
        let p = preview.get()?.ok()??;
        let seats = list(&p, "cancelled_seats");
        let kept = items(&crate::json::at(&p, "kept"));
        Some(view! {
            <ul class="erasure">
                {seats.into_iter().map(|s| {
                    let money = |key| format_price(int(&s, key), &text(&s, "currency"));
                    let what = if int(&s, "paid_cents") == 0 {
                        "place réservée non payée, libérée".to_owned()
                    } else {
                        format!("annulée, remboursement de {} sur {}", money("refund_cents"), money("paid_cents"))
                    };
                    view! { <li class="erased-seat">"Session à "{text(&s, "location")}" : "{what}</li> }
                }).collect_view()}
                {(int(&p, "waiting_lists") > 0).then(|| view! { <li>"Vos places en liste d'attente sont libérées."</li> })}
                {crate::json::at(&p, "subscription_ends").as_bool().unwrap_or(false).then(|| view! {
                    <li>"Votre abonnement prend fin immédiatement, sans remboursement de la période en cours."</li>
                })}
                {kept.into_iter().map(|k| view! { <li>{k.as_string().unwrap_or_default()}</li> }).collect_view()}
            </ul>
        })
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        send(
            api::delete_account(password.get_untracked()),
            error,
            Some(busy),
            |()| crate::browser::go("/"),
        );
    };
    view! {
        <section aria-labelledby="delete-title">
            <h2 id="delete-title">"Supprimer mon compte"</h2>
            <Show
                when=move || open.get()
                fallback=move || view! {
                    <button class="secondary" on:click=move |_| open.set(true)>"Supprimer mon compte…"</button>
                }
            >
                <p>"Vos données personnelles sont effacées. Ce qui suit est fait d'abord :"</p>
                {consequences}
                <form class="auth" on:submit=submit>
                    <label for="delete-password">"Votre mot de passe, pour confirmer"</label>
                    <input id="delete-password" type="password" required autocomplete="current-password"
                        prop:value=password on:input=move |ev| password.set(event_target_value(&ev))/>
                    <ErrorLine message=error/>
                    <button type="submit" class="danger" disabled=move || busy.get()>"Supprimer définitivement"</button>
                    <button type="button" class="secondary" on:click=move |_| open.set(false)>"Garder mon compte"</button>
                </form>
            </Show>
        </section>
    }
}
