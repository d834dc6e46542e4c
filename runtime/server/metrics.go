package server

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"gpurun/runtime/engine"
)

// metrics are the server's Prometheus metrics, in a registry of its own.
type metrics struct {
	reg *prometheus.Registry

	requests         *prometheus.CounterVec // by endpoint and HTTP status
	generations      *prometheus.CounterVec // by finish reason
	promptTokens     prometheus.Counter
	completionTokens prometheus.Counter
	ttft             prometheus.Histogram
	tpot             prometheus.Histogram
	queueWait        prometheus.Histogram
	duration         *prometheus.HistogramVec
	batch            prometheus.Histogram
}

func newMetrics() *metrics {
	latency := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpurun_http_requests_total", Help: "HTTP requests by endpoint and status code.",
		}, []string{"endpoint", "code"}),
		generations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpurun_generations_total", Help: "Finished generations by outcome: stop, length, cancelled (client gone), timeout, error.",
		}, []string{"outcome"}),
		promptTokens: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpurun_prompt_tokens_total", Help: "Prompt tokens received (tokens in).",
		}),
		completionTokens: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpurun_completion_tokens_total", Help: "Tokens generated (tokens out).",
		}),
		ttft: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "gpurun_time_to_first_token_seconds", Help: "From a request reaching the scheduler to its first token (queue wait and prefill included).",
			Buckets: latency,
		}),
		tpot: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "gpurun_time_per_output_token_seconds", Help: "Time between consecutive tokens of one request.",
			Buckets: []float64{.005, .01, .02, .03, .05, .075, .1, .15, .2, .3, .5, 1, 2.5},
		}),
		queueWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "gpurun_queue_wait_seconds", Help: "Time requests waited for a free sequence slot.",
			Buckets: latency,
		}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gpurun_request_duration_seconds", Help: "Whole request time by endpoint.",
			Buckets: latency,
		}, []string{"endpoint"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "gpurun_batch_sequences", Help: "Sequences in one forward pass (continuous batching).",
			Buckets: []float64{1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64},
		}),
	}
	m.reg.MustRegister(m.requests, m.generations, m.promptTokens, m.completionTokens,
		m.ttft, m.tpot, m.queueWait, m.duration, m.batch,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// watch exports the scheduler's load as gauges read at scrape time.
func (m *metrics) watch(stats func() engine.SchedulerStats) {
	gauge := func(name, help string, f func(engine.SchedulerStats) int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return float64(f(stats())) })
	}
	m.reg.MustRegister(
		gauge("gpurun_queue_depth", "Requests waiting for a free sequence slot.", func(s engine.SchedulerStats) int { return s.Queued }),
		gauge("gpurun_active_sequences", "Sequences being generated.", func(s engine.SchedulerStats) int { return s.Active }),
		gauge("gpurun_sequence_slots", "Sequences that can be generated at once (--parallel).", func(s engine.SchedulerStats) int { return s.Slots }),
	)
}

// hooks feed the scheduler's timings into the histograms.
func (m *metrics) hooks() engine.SchedulerHooks {
	return engine.SchedulerHooks{
		Admitted:   func(d time.Duration) { m.queueWait.Observe(d.Seconds()) },
		FirstToken: func(d time.Duration) { m.ttft.Observe(d.Seconds()) },
		NextToken:  func(d time.Duration) { m.tpot.Observe(d.Seconds()) },
		Step:       func(seqs, _ int, _ time.Duration) { m.batch.Observe(float64(seqs)) },
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
