//! How resources carry their data from the server-rendered page to the browser.
//!
//! JSON, like leptos' default codec, but decoded with `serde_json::from_slice`, the
//! same call that decodes server function answers: the wasm bundle then holds one
//! JSON decoder per type instead of two (measured: about a tenth of the bundle).

use leptos::server::codee::{Decoder, Encoder};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub struct Json;

impl<T: Serialize> Encoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(val: &T) -> Result<String, Self::Error> {
        serde_json::to_string(val)
    }
}

impl<T: DeserializeOwned> Decoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(val: &str) -> Result<T, Self::Error> {
        serde_json::from_slice(val.as_bytes())
    }
}

/// A resource whose data travels with [`Json`].
pub type Resource<T> = leptos::prelude::Resource<T, Json>;

/// Like `Resource::new`: loads on the server, hydrates in the browser without refetching.
/// On the server, resources made at the same place for the same source during one
/// render share one load (see [`RenderLoads`]).
#[track_caller]
pub fn resource<T, S, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Resource<T>
where
    T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
    S: Send + Sync + Clone + PartialEq + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    #[cfg(feature = "ssr")]
    let fetcher = RenderLoads::sharing(std::panic::Location::caller(), fetcher);
    Resource::new_with_options(source, fetcher, false)
}

/// The loads of one server render, so that a resource made twice loads once.
///
/// `Suspense` walks its children once to start their loads before it renders them,
/// and a section made inside a `Suspend` whose data is already there is made on
/// both walks, each time with a resource of its own (leptos' advice is to make
/// resources above the `Suspense`). The user page ran its sections' server
/// functions 1.96 times a visit, each read written to the audit log twice. As with
/// request memoization in other server renderers, a second resource made at the
/// same place with the same source awaits the first one's load. Provided per
/// request by `App`; nothing is kept past the render.
#[cfg(feature = "ssr")]
#[derive(Clone, Default)]
pub struct RenderLoads(std::sync::Arc<std::sync::Mutex<Vec<Load>>>);

#[cfg(feature = "ssr")]
struct Load {
    at: &'static std::panic::Location<'static>,
    source: Box<dyn std::any::Any + Send + Sync>,
    /// A `Shared` of the load's future, of the resource's type.
    answer: Box<dyn std::any::Any + Send + Sync>,
}

#[cfg(feature = "ssr")]
type SharedLoad<T> = futures::future::Shared<futures::future::BoxFuture<'static, T>>;

#[cfg(feature = "ssr")]
impl RenderLoads {
    /// `fetcher`, its loads shared with those of the resources made at `at` for the
    /// same source in this render (none shared outside a render).
    fn sharing<T, S, Fut>(
        at: &'static std::panic::Location<'static>,
        fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
    ) -> impl Fn(S) -> SharedLoad<T> + Send + Sync + 'static
    where
        T: Clone + Send + Sync + 'static,
        S: Send + Sync + Clone + PartialEq + 'static,
        Fut: std::future::Future<Output = T> + Send + 'static,
    {
        use futures::FutureExt;
        let loads = leptos::prelude::use_context::<RenderLoads>();
        move |source: S| {
            let Some(loads) = &loads else { return fetcher(source).boxed().shared() };
            // The list holds no invariant a panic elsewhere could break.
            let mut all = loads.0.lock().unwrap_or_else(|e| e.into_inner());
            let same = |l: &&Load| l.at == at && l.source.downcast_ref::<S>() == Some(&source);
            if let Some(load) = all.iter().find(same).and_then(|l| l.answer.downcast_ref::<SharedLoad<T>>()) {
                return load.clone();
            }
            let load = fetcher(source.clone()).boxed().shared();
            all.push(Load { at, source: Box::new(source), answer: Box::new(load.clone()) });
            load
        }
    }
}
