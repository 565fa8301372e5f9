//! How pages say "loading", "nothing yet" and "that failed", and send
//! their changes, the same way everywhere. A 401 comes with the way to
//! sign in and come back.

use std::any::Any;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;

use common::ErrorCode;
use leptos::prelude::*;

use crate::api::ApiError;

/// What every resource holds underneath: the answer with its type erased.
type Erased = Result<Rc<dyn Any>, ApiError>;
type Fetch = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = Erased>>>>;

/// Data read from the API, fetched again when a signal its fetcher reads
/// changes or on `refetch`: a `LocalResource` whose value has its type
/// erased, so that Leptos's async machinery is compiled once for every
/// page rather than once per type (the wasm size budget).
pub struct Resource<T> {
    inner: LocalResource<Erased>,
    ty: PhantomData<fn() -> T>,
}

impl<T> Clone for Resource<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Resource<T> {}

/// A resource over `fetch` (like `LocalResource::new`).
pub fn resource<T: 'static, F: Future<Output = Result<T, ApiError>> + 'static>(
    fetch: impl Fn() -> F + 'static,
) -> Resource<T> {
    let fetch: Fetch = Rc::new(move || {
        let answer = fetch();
        Box::pin(async move { answer.await.map(|v| Rc::new(v) as Rc<dyn Any>) })
    });
    Resource {
        inner: erased(fetch),
        ty: PhantomData,
    }
}

fn erased(fetch: Fetch) -> LocalResource<Erased> {
    LocalResource::new(move || fetch())
}

impl<T: Clone + 'static> Resource<T> {
    /// The answer once it came (reactive, like `LocalResource::get`).
    pub fn get(&self) -> Option<Result<T, ApiError>> {
        let answer = self.inner.get()?;
        Some(answer.and_then(|v| v.downcast_ref::<T>().cloned().ok_or_else(ApiError::network)))
    }
}

impl<T> Resource<T> {
    pub fn refetch(&self) {
        self.inner.refetch();
    }
}

#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading" role="status">"Chargement…"</p> }
}

#[component]
pub fn Failure(error: ApiError) -> impl IntoView {
    let sign_in = error.is(ErrorCode::Unauthorized).then(|| {
        let back = window().location().pathname().unwrap_or_default();
        view! { <a href=format!("/connexion?suite={back}")>"Se connecter"</a> }
    });
    view! { <p class="error" role="alert">{error.message}" "{sign_in}</p> }
}

/// An error line that appears when the signal holds a message.
#[component]
pub fn ErrorLine(message: RwSignal<Option<String>>) -> impl IntoView {
    move || {
        message
            .get()
            .map(|e| view! { <p class="error" role="alert">{e}</p> })
    }
}

/// The end of an admin form: its error, "Enregistrer" (off while saving)
/// and "Annuler".
#[component]
pub fn FormFooter(
    error: RwSignal<Option<String>>,
    busy: RwSignal<bool>,
    close: Callback<()>,
) -> impl IntoView {
    view! {
        <ErrorLine message=error/>
        <div class="buttons">
            <button type="submit" disabled=move || busy.get()>"Enregistrer"</button>
            <button type="button" class="secondary" on:click=move |_| close.run(())>"Annuler"</button>
        </div>
    }
}

/// A list from the API, once it came: `rows` draws it, `empty` stands in
/// when it has none, and a failure says what went wrong.
pub fn loaded<T>(
    result: Result<Vec<T>, ApiError>,
    empty: AnyView,
    rows: impl FnOnce(Vec<T>) -> AnyView,
) -> AnyView {
    match result {
        Ok(list) if list.is_empty() => empty,
        Ok(list) => rows(list),
        Err(error) => view! { <Failure error/> }.into_any(),
    }
}

/// Sends a change to the API in the background and clears the last error.
/// `busy`, when given, is on while it runs and stays on after success,
/// when `done` moves the page on; a failure turns it off and shows its
/// message in `error`.
pub fn send<T: 'static>(
    action: impl Future<Output = Result<T, ApiError>> + 'static,
    error: RwSignal<Option<String>>,
    busy: Option<RwSignal<bool>>,
    done: impl FnOnce(T) + 'static,
) {
    sent(Box::pin(async move { action.await.map(done) }), error, busy);
}

/// `send` past its types: compiled once.
fn sent(
    action: Pin<Box<dyn Future<Output = Result<(), ApiError>>>>,
    error: RwSignal<Option<String>>,
    busy: Option<RwSignal<bool>>,
) {
    error.set(None);
    let set_busy = move |on: bool| {
        if let Some(busy) = busy {
            busy.set(on);
        }
    };
    set_busy(true);
    leptos::task::spawn_local(async move {
        if let Err(e) = action.await {
            error.set(Some(e.message));
            set_busy(false);
        }
    });
}
