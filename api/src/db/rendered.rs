//! Hot statements rendered once. Building a statement with sea-query (its
//! tree, then the tree walked into SQL, the conditions cloned on the way)
//! cost a hold more instructions than anything else in the api: counted
//! with callgrind in the rush (issue 25), about a quarter of them. A
//! statement whose text depends only on its shape (which optional parts it
//! has) is therefore rendered once per backend and shape, with stand-in
//! values, and each call binds its own values into that text.
//!
//! The statement is still written once, with sea-query, from typed inputs:
//! which of the rendered values is which input is learned by rendering it
//! twice with two sets of random stand-ins. A value that changed with
//! neither set is a constant of the statement; one that changed but is no
//! input (a time read inside the builder, a count derived from an input)
//! cannot be bound, nor one the stand-ins could not move (checked against
//! the first real call's own statement), so such a statement is built on
//! every call, and debug builds (every test) stop on it. Debug builds also
//! build every call's statement afresh and check that the bound one is
//! the same.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use rand::Rng;
use sea_orm::{DbBackend, Statement, Value, Values};
use uuid::Uuid;

/// What a statement is built from.
pub trait Inputs: Sized {
    /// Every value the statement is built from, in a fixed order. A
    /// boolean is no value here (a stand-in could not be told from a
    /// constant): let it choose the shape.
    fn values(&self) -> Vec<Value>;
    /// The same shape with every value drawn from `fresh`.
    fn stand_in(&self, fresh: &mut Fresh) -> Self;
    /// Which optional parts the statement has: anything that changes its
    /// text, and nothing else.
    fn shape(&self) -> u64;
}

/// A statement built from one id.
impl Inputs for Uuid {
    fn values(&self) -> Vec<Value> {
        vec![(*self).into()]
    }

    fn stand_in(&self, fresh: &mut Fresh) -> Self {
        fresh.uuid()
    }

    fn shape(&self) -> u64 {
        0
    }
}

/// Random values of each kind, which no real input nor constant takes.
pub struct Fresh(rand::rngs::ThreadRng);

impl Fresh {
    pub fn uuid(&mut self) -> Uuid {
        Uuid::from_u128(self.0.random())
    }

    pub fn text(&mut self) -> String {
        format!("stand-in-{}", self.uuid().simple())
    }

    pub fn number(&mut self) -> u32 {
        self.0.random_range(1_000_000_000..u32::MAX)
    }

    pub fn date(&mut self) -> NaiveDate {
        // Some day between the 23rd century and the year 240 000: two
        // stand-ins of one set are never the same day.
        NaiveDate::from_num_days_from_ce_opt(self.0.random_range(800_000..88_000_000))
            .unwrap_or(NaiveDate::MAX)
    }

    pub fn time(&mut self) -> DateTime<Utc> {
        let seconds = self.0.random_range(7_000_000_000..10_000_000_000_i64);
        DateTime::from_timestamp(seconds, self.0.random_range(0..1_000_000_000))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

/// Where each value of the rendered text comes from.
#[derive(Debug)]
enum Slot {
    Input(usize),
    Constant(Value),
}

#[derive(Debug)]
struct Template {
    sql: String,
    slots: Vec<Slot>,
    /// How many inputs the shape has: a call with another count is of
    /// another shape, whatever `shape()` says.
    inputs: usize,
}

impl Template {
    fn bind(&self, backend: DbBackend, inputs: &[Value]) -> Statement {
        let values = self
            .slots
            .iter()
            .map(|slot| match slot {
                Slot::Input(i) => inputs[*i].clone(),
                Slot::Constant(v) => v.clone(),
            })
            .collect();
        Statement::from_sql_and_values(backend, self.sql.clone(), Values(values))
    }
}

/// By backend and shape; None for a shape that could not be learned,
/// which is built on every call.
type Templates = HashMap<(&'static str, u64), Option<Arc<Template>>>;

/// One statement, its builder and the texts rendered so far.
pub struct Rendered<I> {
    name: &'static str,
    build: fn(&I, DbBackend) -> Statement,
    templates: Mutex<Templates>,
}

impl<I: Inputs> Rendered<I> {
    pub fn new(name: &'static str, build: fn(&I, DbBackend) -> Statement) -> Self {
        Self {
            name,
            build,
            templates: Mutex::new(HashMap::new()),
        }
    }

    /// The statement for `inputs`, as `build` would make it.
    pub fn statement(&self, backend: DbBackend, inputs: &I) -> Statement {
        let key = (backend.as_str(), inputs.shape());
        let known = self.lock().get(&key).cloned();
        let template = match known {
            Some(t) => t,
            None => {
                let learned = self.learn(backend, inputs).map(Arc::new);
                self.lock().insert(key, learned.clone());
                learned
            }
        };
        let Some(template) = template else {
            return (self.build)(inputs, backend);
        };
        let values = inputs.values();
        if values.len() != template.inputs {
            debug_assert!(false, "statement {}: inputs unlike its shape's", self.name);
            return (self.build)(inputs, backend);
        }
        let bound = template.bind(backend, &values);
        if cfg!(debug_assertions) {
            let built = (self.build)(inputs, backend);
            assert_eq!(bound, built, "statement {}: bound ≠ built", self.name);
        }
        bound
    }

    fn learn(&self, backend: DbBackend, inputs: &I) -> Option<Template> {
        match self.try_learn(backend, inputs) {
            Ok(template) => Some(template),
            Err(why) => {
                debug_assert!(
                    false,
                    "statement {} cannot be rendered once: {why}",
                    self.name
                );
                tracing::warn!(statement = self.name, why, "built on every call");
                None
            }
        }
    }

    fn try_learn(&self, backend: DbBackend, inputs: &I) -> Result<Template, String> {
        let mut fresh = Fresh(rand::rng());
        let (a, b) = (inputs.stand_in(&mut fresh), inputs.stand_in(&mut fresh));
        let real = inputs.values();
        if a.shape() != inputs.shape() || b.shape() != inputs.shape() {
            return Err("its stand-ins change its shape".into());
        }
        let (ra, rb) = ((self.build)(&a, backend), (self.build)(&b, backend));
        let (va, vb) = (a.values(), b.values());
        if va.len() != real.len() || vb.len() != real.len() {
            return Err("its stand-ins have other inputs".into());
        }
        let (sa, sb) = (values_of(&ra), values_of(&rb));
        if ra.sql != rb.sql || sa.len() != sb.len() {
            return Err("its text changes with its values".into());
        }
        let slots = sa
            .iter()
            .zip(sb)
            .map(|(x, y)| {
                let input = (0..va.len()).find(|&i| va[i] == *x && vb[i] == *y);
                match input {
                    Some(i) => Ok(Slot::Input(i)),
                    None if x == y => Ok(Slot::Constant(x.clone())),
                    None => Err(format!("the value {x:?} is derived, not an input")),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let template = Template {
            sql: ra.sql,
            slots,
            inputs: real.len(),
        };
        // A value the stand-ins could not move (a date read inside the
        // builder, an input clamped to a bound) would be taken for a
        // constant: the first real call must bind to what it builds.
        if template.bind(backend, &real) != (self.build)(inputs, backend) {
            return Err("a value is neither an input nor a constant".into());
        }
        Ok(template)
    }

    /// Whether `inputs`' shape is bound rather than built (tests).
    #[cfg(test)]
    pub fn learned(&self, backend: DbBackend, inputs: &I) -> bool {
        self.statement(backend, inputs);
        self.lock()
            .get(&(backend.as_str(), inputs.shape()))
            .is_some_and(Option::is_some)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Templates> {
        // A map of finished entries: a panic elsewhere cannot leave it torn.
        self.templates.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn values_of(statement: &Statement) -> &[Value] {
    statement.values.as_ref().map_or(&[], |v| v.0.as_slice())
}

/// Shape bits, from flags in order.
pub fn shape(flags: &[bool]) -> u64 {
    flags
        .iter()
        .enumerate()
        .fold(0, |bits, (i, &on)| bits | (u64::from(on) << i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::{Expr, ExprTrait, Query};

    struct Find {
        id: Uuid,
        since: Option<DateTime<Utc>>,
    }

    impl Inputs for Find {
        fn values(&self) -> Vec<Value> {
            vec![self.id.into(), self.since.into()]
        }
        fn stand_in(&self, fresh: &mut Fresh) -> Self {
            Self {
                id: fresh.uuid(),
                since: self.since.map(|_| fresh.time()),
            }
        }
        fn shape(&self) -> u64 {
            shape(&[self.since.is_some()])
        }
    }

    fn find(inputs: &Find, backend: DbBackend) -> Statement {
        let mut q = Query::select();
        q.expr(Expr::val(1))
            .from("t")
            .and_where(Expr::col("id").eq(inputs.id))
            .and_where(Expr::col("status").eq("held"));
        if let Some(since) = inputs.since {
            q.and_where(Expr::col("at").gt(since).or(Expr::col("id").eq(inputs.id)));
        }
        backend.build(&q)
    }

    #[test]
    fn binds_each_call_s_values_into_the_text_of_its_shape() {
        let rendered = Rendered::new("find", find);
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            for since in [None, Some(Utc::now())] {
                for _ in 0..3 {
                    let inputs = Find {
                        id: Uuid::new_v4(),
                        since,
                    };
                    // Debug builds check it against the built one as well.
                    assert_eq!(rendered.statement(backend, &inputs), find(&inputs, backend));
                }
            }
        }
        assert_eq!(rendered.lock().len(), 4);
        assert!(rendered.lock().values().all(Option::is_some));
    }

    fn derived(inputs: &Find, backend: DbBackend) -> Statement {
        let mut q = Query::select();
        q.expr(Expr::val(1))
            .from("t")
            .and_where(Expr::col("at").gt(Utc::now()))
            .and_where(Expr::col("id").eq(inputs.id));
        backend.build(&q)
    }

    struct Limit(u32);

    impl Inputs for Limit {
        fn values(&self) -> Vec<Value> {
            vec![i64::from(self.0).into()]
        }
        fn stand_in(&self, fresh: &mut Fresh) -> Self {
            Self(fresh.number())
        }
        fn shape(&self) -> u64 {
            0
        }
    }

    /// Clamps its input: every stand-in gives 100, as a constant would.
    fn clamped(inputs: &Limit, backend: DbBackend) -> Statement {
        let mut q = Query::select();
        q.expr(Expr::val(1))
            .from("t")
            .and_where(Expr::col("n").lt(i64::from(std::cmp::Ord::min(inputs.0, 100))));
        backend.build(&q)
    }

    #[test]
    fn a_value_the_stand_ins_could_not_move_is_never_bound() {
        let rendered = Rendered::new("clamped", clamped);
        let learned = rendered.try_learn(DbBackend::Postgres, &Limit(5));
        assert!(learned.is_err_and(|why| why.contains("neither an input nor a constant")));
        // Above the clamp, the stand-ins' statement is this one's too.
        assert!(rendered.try_learn(DbBackend::Postgres, &Limit(500)).is_ok());
    }

    /// A list whose length is wrongly left out of its shape.
    struct Ids(Vec<Uuid>);

    impl Inputs for Ids {
        fn values(&self) -> Vec<Value> {
            self.0.iter().map(|&id| id.into()).collect()
        }
        fn stand_in(&self, fresh: &mut Fresh) -> Self {
            Self(self.0.iter().map(|_| fresh.uuid()).collect())
        }
        fn shape(&self) -> u64 {
            0
        }
    }

    fn any_of(inputs: &Ids, backend: DbBackend) -> Statement {
        let mut q = Query::select();
        q.expr(Expr::val(1))
            .from("t")
            .and_where(Expr::col("id").is_in(inputs.0.clone()));
        backend.build(&q)
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "inputs unlike its shape's")]
    fn inputs_of_another_count_are_never_bound_to_a_shape() {
        let rendered = Rendered::new("any_of", any_of);
        let two = Ids(vec![Uuid::new_v4(), Uuid::new_v4()]);
        rendered.statement(DbBackend::Postgres, &two);
        let three = Ids(vec![Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()]);
        rendered.statement(DbBackend::Postgres, &three);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "cannot be rendered once")]
    fn a_value_that_is_no_input_stops_a_debug_build() {
        let inputs = Find {
            id: Uuid::new_v4(),
            since: None,
        };
        Rendered::new("derived", derived).statement(DbBackend::Postgres, &inputs);
    }
}
