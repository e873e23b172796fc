#include "metrics/registry.hpp"

#include <algorithm>
#include <limits>
#include <type_traits>
#include <stdexcept>

namespace metrics {

Histogram::Histogram(const std::vector<double>& upper_bounds_seconds) : bounds_(upper_bounds_seconds) {
    if (bounds_.size() + 1 > kMaxBuckets) throw std::logic_error("histogram: too many buckets");
    if (!std::is_sorted(bounds_.begin(), bounds_.end())) throw std::logic_error("histogram: bounds not sorted");
    for (double b : bounds_) bounds_ns_.push_back(static_cast<std::int64_t>(b * 1e9));
}

void Histogram::observe(std::chrono::nanoseconds d) noexcept {
    const std::int64_t ns = d.count() < 0 ? 0 : d.count();
    // A handful of bounds: a linear scan beats a binary search here.
    std::size_t i = 0;
    while (i < bounds_ns_.size() && ns > bounds_ns_[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
}

std::uint64_t Histogram::count() const noexcept {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) n += buckets_[i].load(std::memory_order_relaxed);
    return n;
}

double Histogram::sum_seconds() const noexcept {
    return static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
}

std::vector<std::uint64_t> Histogram::cumulative() const {
    std::vector<std::uint64_t> out;
    std::uint64_t running = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        running += buckets_[i].load(std::memory_order_relaxed);
        out.push_back(running);
    }
    return out;
}

std::vector<prometheus::ClientMetric::Label> FamilyBase::labels_of(const LabelValues& values) const {
    std::vector<prometheus::ClientMetric::Label> labels;
    for (std::size_t i = 0; i < label_names_.size() && i < values.size(); ++i)
        labels.push_back({label_names_[i], values[i]});
    return labels;
}

template <typename T>
T& Family<T>::with(const LabelValues& values) {
    if (values.size() != label_names_.size())
        throw std::logic_error("metric " + name_ + ": wrong number of label values");
    std::lock_guard lock(mutex_);
    auto& slot = children_[values];
    if (!slot) {
        if constexpr (std::is_same_v<T, Histogram>) slot = std::make_unique<Histogram>(bounds_);
        else slot = std::make_unique<T>();
    }
    return *slot;
}

template <typename T>
prometheus::MetricFamily Family<T>::collect() const {
    prometheus::MetricFamily family;
    family.name = name_;
    family.help = help_;
    if constexpr (std::is_same_v<T, Counter>) family.type = prometheus::MetricType::Counter;
    else if constexpr (std::is_same_v<T, Gauge>) family.type = prometheus::MetricType::Gauge;
    else family.type = prometheus::MetricType::Histogram;
    std::lock_guard lock(mutex_);
    for (const auto& [values, child] : children_) {
        prometheus::ClientMetric m;
        if constexpr (std::is_same_v<T, Counter>) {
            if (zero_ == ShowZero::No && child->value() == 0) continue;
            m.counter.value = static_cast<double>(child->value());
        } else if constexpr (std::is_same_v<T, Gauge>) {
            if (zero_ == ShowZero::No && child->value() == 0) continue;
            m.gauge.value = static_cast<double>(child->value());
        } else {
            if (zero_ == ShowZero::No && child->count() == 0) continue;
            const auto cumulative = child->cumulative();
            for (std::size_t i = 0; i < child->bounds().size(); ++i)
                m.histogram.bucket.push_back({cumulative[i], child->bounds()[i]});
            // The +Inf bucket: its count is the total.
            m.histogram.bucket.push_back({cumulative.back(), std::numeric_limits<double>::infinity()});
            m.histogram.sample_count = cumulative.back();
            m.histogram.sample_sum = child->sum_seconds();
        }
        m.label = labels_of(values);
        family.metric.push_back(std::move(m));
    }
    return family;
}

prometheus::MetricFamily ComputedGauge::collect() const {
    prometheus::MetricFamily family;
    family.name = name_;
    family.help = help_;
    family.type = prometheus::MetricType::Gauge;
    prometheus::ClientMetric m;
    m.gauge.value = value_();
    family.metric.push_back(std::move(m));
    return family;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

CounterFamily& Registry::counter(std::string name, std::string help, std::vector<std::string> labels, ShowZero zero) {
    auto family = std::make_unique<CounterFamily>(std::move(name), std::move(help), std::move(labels), zero);
    auto& ref = *family;
    std::lock_guard lock(mutex_);
    families_.push_back(std::move(family));
    return ref;
}

GaugeFamily& Registry::gauge(std::string name, std::string help, std::vector<std::string> labels) {
    auto family = std::make_unique<GaugeFamily>(std::move(name), std::move(help), std::move(labels), ShowZero::Yes);
    auto& ref = *family;
    std::lock_guard lock(mutex_);
    families_.push_back(std::move(family));
    return ref;
}

HistogramFamily& Registry::histogram(std::string name, std::string help, std::vector<std::string> labels,
                                     std::vector<double> bounds_seconds) {
    auto family =
        std::make_unique<HistogramFamily>(std::move(name), std::move(help), std::move(labels), ShowZero::Yes);
    family->set_bounds(std::move(bounds_seconds));
    auto& ref = *family;
    std::lock_guard lock(mutex_);
    families_.push_back(std::move(family));
    return ref;
}

ComputedGauge& Registry::computed_gauge(std::string name, std::string help, std::function<double()> value) {
    auto family = std::make_unique<ComputedGauge>(std::move(name), std::move(help), std::move(value));
    auto& ref = *family;
    std::lock_guard lock(mutex_);
    families_.push_back(std::move(family));
    return ref;
}

std::vector<prometheus::MetricFamily> Registry::collect() const {
    std::lock_guard lock(mutex_);
    std::vector<prometheus::MetricFamily> out;
    out.reserve(families_.size());
    for (const auto& f : families_) {
        auto family = f->collect();
        // A family with no child yet still says what it is (HELP/TYPE).
        out.push_back(std::move(family));
    }
    return out;
}

}  // namespace metrics
