//! Prometheus metrics, served at `/metrics`: requests, appended events by type, command
//! retries and replays, each read model's position, and how far the notifier has followed the
//! log.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use talo_events_schema::envelope::Position;
use talo_projections::ProjectionStatus;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    event_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProjectionLabels {
    projection: String,
}

#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    events_appended: Family<EventLabels, Counter>,
    graphql_requests: Family<RequestLabels, Counter>,
    commands_retried: Counter,
    commands_replayed: Counter,
    projection_position: Family<ProjectionLabels, Gauge>,
    notifier_position: Gauge,
    notifier_resumed_from: Gauge,
    notifier_events_followed: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("talo");
        let events_appended = Family::<EventLabels, Counter>::default();
        registry.register(
            "events_appended",
            "Events appended, by type",
            events_appended.clone(),
        );
        let graphql_requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "graphql_requests",
            "GraphQL requests, by outcome",
            graphql_requests.clone(),
        );
        let commands_retried = Counter::default();
        registry.register(
            "commands_retried",
            "Commands decided again after losing a race on their stream",
            commands_retried.clone(),
        );
        let commands_replayed = Counter::default();
        registry.register(
            "commands_replayed",
            "Requests answered from an earlier request with the same idempotency key",
            commands_replayed.clone(),
        );
        let projection_position = Family::<ProjectionLabels, Gauge>::default();
        registry.register(
            "projection_position",
            "Global position each read model has folded",
            projection_position.clone(),
        );
        let notifier_position = Gauge::default();
        registry.register(
            "notifier_position",
            "Global position the notification outbox has followed the log to",
            notifier_position.clone(),
        );
        let notifier_resumed_from = Gauge::default();
        registry.register(
            "notifier_resumed_from",
            "Global position the notification outbox went on from at this start (its saved progress)",
            notifier_resumed_from.clone(),
        );
        let notifier_events_followed = Counter::default();
        registry.register(
            "notifier_events_followed",
            "Events the notification outbox has followed since this process started",
            notifier_events_followed.clone(),
        );
        Metrics {
            inner: Arc::new(Inner {
                registry,
                events_appended,
                graphql_requests,
                commands_retried,
                commands_replayed,
                projection_position,
                notifier_position,
                notifier_resumed_from,
                notifier_events_followed,
            }),
        }
    }
}

impl Metrics {
    pub fn event_appended(&self, event_type: &str) {
        self.inner
            .events_appended
            .get_or_create(&EventLabels {
                event_type: event_type.to_owned(),
            })
            .inc();
    }

    pub fn graphql_request(&self, ok: bool) {
        let outcome = if ok { "ok" } else { "error" };
        self.inner
            .graphql_requests
            .get_or_create(&RequestLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    pub fn command_retried(&self) {
        self.inner.commands_retried.inc();
    }

    pub fn command_replayed(&self) {
        self.inner.commands_replayed.inc();
    }

    /// The notifier starts following the log after `position`.
    pub fn notifier_resumed(&self, position: Position) {
        let position = gauge_value(position);
        self.inner.notifier_resumed_from.set(position);
        self.inner.notifier_position.set(position);
    }

    /// The notifier has followed the log up to `position`.
    pub fn notifier_followed(&self, position: Position) {
        self.inner.notifier_events_followed.inc();
        self.inner.notifier_position.set(gauge_value(position));
    }

    /// The text exposition, with the read models' positions as of now.
    pub fn render(&self, projections: &[ProjectionStatus]) -> String {
        for status in projections {
            let position = gauge_value(status.position);
            self.inner
                .projection_position
                .get_or_create(&ProjectionLabels {
                    projection: status.name.to_owned(),
                })
                .set(position);
        }
        let mut text = String::new();
        // Encoding into a String cannot fail: fmt::Write on String is infallible.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.inner.registry);
        text
    }
}

fn gauge_value(position: Position) -> i64 {
    i64::try_from(position.commit).unwrap_or(i64::MAX)
}
