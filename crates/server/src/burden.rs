//! The server's burden engine: loaded from the store on first use, then kept current by
//! every demand written through this server.
//!
//! The engine lives in memory (see `tongxin-burden`); it is filled from the store on the
//! first request that needs it, and writes that land while it loads are queued and applied
//! after, so none is lost. Demands imported by another process (`tongxin import` against
//! the database of a running server) are picked up by `POST /api/burden/recompute` or a
//! restart.

use std::sync::{Arc, RwLock, RwLockReadGuard};

use tongxin_burden::Engine;
use tongxin_domain::{Body, Demand, Unit};
use tongxin_rules::RuleSet;
use tongxin_store::{DemandFilter, Store, StoreError};

#[derive(Default)]
struct Slot {
    engine: Option<Engine>,
    /// A load from the store is under way.
    loading: bool,
    /// Writes made while it runs (a load reads the store page by page, so it may miss them).
    pending: Vec<Demand>,
}

/// The shared engine of one server.
pub struct Burden {
    rules: RuleSet,
    slot: RwLock<Slot>,
    loading: tokio::sync::Mutex<()>,
}

/// A read guard on a loaded engine.
pub struct EngineRef<'a>(RwLockReadGuard<'a, Slot>);

impl std::ops::Deref for EngineRef<'_> {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        match &self.0.engine {
            Some(e) => e,
            None => unreachable!("EngineRef is only made for a loaded engine"),
        }
    }
}

/// Reads every unit, body and demand of the store into a fresh engine.
pub async fn load_engine(store: &dyn Store, rules: RuleSet) -> Result<Engine, StoreError> {
    let units: Vec<Unit> = store.units_under(None).await?;
    let bodies: Vec<Body> = store.bodies(None).await?;
    let mut engine = Engine::new(rules, &units, &bodies);
    let mut demands = Vec::new();
    let mut filter = DemandFilter { limit: 1000, ..DemandFilter::default() };
    loop {
        let page = store.demands(&filter).await?;
        demands.extend(page.items);
        match page.next {
            Some(next) => filter.after = Some(next),
            None => break,
        }
    }
    // Every stored demand names stored units and bodies; a mismatch is a corrupt store.
    engine.load(demands).map_err(|e| StoreError::Database(format!("burden engine: {e}")))?;
    Ok(engine)
}

impl Burden {
    pub fn new(rules: RuleSet) -> Arc<Burden> {
        Arc::new(Burden { rules, slot: RwLock::new(Slot::default()), loading: tokio::sync::Mutex::new(()) })
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    fn read(&self) -> RwLockReadGuard<'_, Slot> {
        self.slot.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Slot> {
        self.slot.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The engine, loading it from the store first if needed.
    pub async fn engine(&self, store: &dyn Store) -> Result<EngineRef<'_>, StoreError> {
        if self.read().engine.is_none() {
            let _one_loader = self.loading.lock().await;
            if self.read().engine.is_none() {
                self.write().loading = true;
                let loaded = load_engine(store, self.rules.clone()).await;
                self.install(loaded)?;
            }
        }
        Ok(EngineRef(self.read()))
    }

    fn install(&self, loaded: Result<Engine, StoreError>) -> Result<(), StoreError> {
        let mut slot = self.write();
        slot.loading = false;
        let pending = std::mem::take(&mut slot.pending);
        let mut engine = loaded?;
        for d in pending {
            if let Err(e) = engine.apply(&d) {
                tracing::warn!(demand = %d.id, "burden engine skipped a queued write: {e}");
            }
        }
        slot.engine = Some(engine);
        Ok(())
    }

    /// Reloads everything from the store (after an import by another process).
    pub async fn recompute(&self, store: &dyn Store) -> Result<usize, StoreError> {
        let _one_loader = self.loading.lock().await;
        self.write().loading = true;
        let loaded = load_engine(store, self.rules.clone()).await;
        self.install(loaded)?;
        Ok(self.read().engine.as_ref().map(|e| e.demand_count()).unwrap_or(0))
    }

    /// Follows a demand written to the store (new, changed or cancelled).
    pub fn demand_written(&self, d: &Demand) {
        let mut slot = self.write();
        let loading = slot.loading;
        match slot.engine.as_mut() {
            Some(e) => {
                if let Err(err) = e.apply(d) {
                    // A unit or body created after the engine loaded: reload on next use.
                    tracing::info!(demand = %d.id, "burden engine reloads: {err}");
                    slot.engine = None;
                }
            }
            // Loading: queue it. Not loaded: the next load reads it from the store.
            None if loading => slot.pending.push(d.clone()),
            None => {}
        }
    }

    /// Follows a body created or renamed through this server.
    pub fn body_written(&self, b: &Body) {
        if let Some(e) = self.write().engine.as_mut() {
            e.upsert_body(b);
        }
    }

    /// Follows a unit whose cadres changed.
    pub fn unit_written(&self, u: &Unit) {
        if let Some(e) = self.write().engine.as_mut() {
            e.upsert_unit(u);
        }
    }
}
