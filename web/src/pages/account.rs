//! `/mon-compte`: my bookings, each cancellable with the refund rule shown
//! before confirming, and my subscription with the way to manage it.

use common::bookings::{BookingDto, BookingStatus};
use common::format::{format_date, format_session_dates};
use common::money::format_price;
use common::subscriptions::{AccessDto, SubscriptionType};
use leptos::prelude::*;

use crate::api;
use crate::browser::today;
use crate::components::feedback::{ErrorLine, Failure, Loading, loaded, send};
use crate::pages::members::ManageSubscription;

pub fn status_fr(status: BookingStatus) -> &'static str {
    match status {
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
        <MyBookings/>
        <MySubscription/>
    }
    .into_any()
}

#[component]
fn MyBookings() -> impl IntoView {
    let bookings = LocalResource::new(api::my_bookings);
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
            " · "<span class="status">{status_fr(booking.status)}</span>
            {actions}
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
    let access = LocalResource::new(api::access);
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
