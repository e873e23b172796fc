// Counters, gauges and histograms that sessions update on the hot path
// without taking a lock: every value is a std::atomic updated with relaxed
// ordering (a scrape may see one counter a step ahead of another, never a
// torn or lost update). Families carry the label names; a child (one set of
// label values) is created under the family's mutex once, at set-up time or
// the first time it is needed, and its address never changes afterwards, so
// callers keep a reference and count through it (session/counters.hpp).
//
// Exposition is metrics/endpoint's job: Registry::collect() turns every
// family into prometheus-cpp's MetricFamily, which prometheus-cpp serialises
// in the Prometheus text format. prometheus-cpp's own Histogram takes a
// mutex per observation, which is why the values live here.
#pragma once
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/metric_family.h>

namespace metrics {

class Counter {
public:
    void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

class Gauge {
public:
    void add(std::int64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    void sub(std::int64_t n = 1) noexcept { value_.fetch_sub(n, std::memory_order_relaxed); }
    void set(std::int64_t n) noexcept { value_.store(n, std::memory_order_relaxed); }
    std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> value_{0};
};

// Durations in seconds (Prometheus base unit). The bounds are fixed when the
// family is made; the sum is kept in nanoseconds so that it is one integer
// add, not a compare-and-swap loop on a double.
class Histogram {
public:
    static constexpr std::size_t kMaxBuckets = 16;
    explicit Histogram(const std::vector<double>& upper_bounds_seconds);
    void observe(std::chrono::nanoseconds d) noexcept;
    std::uint64_t count() const noexcept;  // the buckets added up: one atomic add less per observation
    double sum_seconds() const noexcept;
    // Cumulative counts per bound, as the exposition wants them.
    std::vector<std::uint64_t> cumulative() const;
    const std::vector<double>& bounds() const { return bounds_; }

private:
    std::vector<double> bounds_;
    std::vector<std::int64_t> bounds_ns_;
    std::array<std::atomic<std::uint64_t>, kMaxBuckets> buckets_{};  // non-cumulative; the last one past every bound
    std::atomic<std::uint64_t> sum_ns_{0};
};

using LabelValues = std::vector<std::string>;

// Whether a child whose value is zero appears in a scrape. Families whose
// label combinations are many and mostly unused (refusals by reason class)
// show a series from its first event on; the others show every child made.
enum class ShowZero : std::uint8_t { Yes, No };

class FamilyBase {
public:
    FamilyBase(std::string name, std::string help, std::vector<std::string> label_names, ShowZero zero)
        : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)), zero_(zero) {}
    virtual ~FamilyBase() = default;
    const std::string& name() const { return name_; }
    const std::vector<std::string>& label_names() const { return label_names_; }
    virtual prometheus::MetricFamily collect() const = 0;

protected:
    std::vector<prometheus::ClientMetric::Label> labels_of(const LabelValues& values) const;
    std::string name_;
    std::string help_;
    std::vector<std::string> label_names_;
    ShowZero zero_;
    mutable std::mutex mutex_;  // guards the children map, never a value
};

template <typename T>
class Family : public FamilyBase {
public:
    using FamilyBase::FamilyBase;
    // The child for these label values (as many as the family has label
    // names), made on first use. Takes the family's mutex: call it at set-up
    // time and keep the reference.
    T& with(const LabelValues& values);
    prometheus::MetricFamily collect() const override;
    // For histograms: the bounds every child gets.
    void set_bounds(std::vector<double> bounds) { bounds_ = std::move(bounds); }

private:
    std::map<LabelValues, std::unique_ptr<T>> children_;
    std::vector<double> bounds_;
};

// A gauge without labels whose value is computed at each scrape (an age
// from a timestamp). `value` must stay callable for the process's life.
class ComputedGauge : public FamilyBase {
public:
    ComputedGauge(std::string name, std::string help, std::function<double()> value)
        : FamilyBase(std::move(name), std::move(help), {}, ShowZero::Yes), value_(std::move(value)) {}
    prometheus::MetricFamily collect() const override;

private:
    std::function<double()> value_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// Every family of the process, in the order they were made.
class Registry {
public:
    CounterFamily& counter(std::string name, std::string help, std::vector<std::string> labels,
                           ShowZero zero = ShowZero::Yes);
    GaugeFamily& gauge(std::string name, std::string help, std::vector<std::string> labels);
    HistogramFamily& histogram(std::string name, std::string help, std::vector<std::string> labels,
                               std::vector<double> bounds_seconds);
    ComputedGauge& computed_gauge(std::string name, std::string help, std::function<double()> value);
    std::vector<prometheus::MetricFamily> collect() const;

private:
    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<FamilyBase>> families_;
};

}  // namespace metrics
