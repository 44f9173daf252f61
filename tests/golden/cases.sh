# The golden cases, sourced by tests/cli/test_golden.sh and tests/golden/regen.sh.
# One line per case: NAME|SCENARIO (relative to the repository root; "-" for
# the built-in default)|extra llmsim run arguments.  Every example scenario
# and the default appear once.  Horizons are cut so the whole test takes a few
# seconds on two cores (each warmup_s stays below the shortened duration_s);
# cases run 2 replications so the confidence-interval columns are filled,
# except trace replays (the trace fixes arrivals and tokens) and scenarios
# that set replications: 1 themselves, to keep tests/golden/ under 300 KB.
# Changing a line changes the "args" line of its digest, so the golden file
# must then be regenerated (tests/golden/regen.sh).
GOLDEN_COMMON=(--quiet --no-progress)
GOLDEN_CASES=(
"closed-loop|scenarios/examples/closed-loop.yaml|--replications 2 --set horizon.duration_s=1800"
"default|-|--replications 2 --set horizon.duration_s=600"
"api-latency-profiles|scenarios/examples/api-latency-profiles.yaml|--replications 2 --set horizon.duration_s=600"
"long-context|scenarios/examples/long-context.yaml|--replications 2 --set horizon.duration_s=1200"
"autoscale-step|scenarios/examples/autoscale-step.yaml|--replications 1"
"spot-fleet|scenarios/examples/spot-fleet.yaml|--replications 1 --set horizon.duration_s=1800"
"azure-conv-api|scenarios/examples/azure-conv-api.yaml|--replications 1 --set horizon.duration_s=600"
"batching-azure|scenarios/examples/batching-azure.yaml|--replications 1 --set horizon.duration_s=600"
"capacity-70b-h100-tp4|scenarios/examples/capacity-70b-h100-tp4.yaml|--replications 2 --set horizon.duration_s=900"
"capacity-70b-h200-tp2|scenarios/examples/capacity-70b-h200-tp2.yaml|--replications 2 --set horizon.duration_s=900"
"energy-70b|scenarios/examples/energy-70b.yaml|--replications 2 --set horizon.duration_s=900"
"bursty-api|scenarios/examples/bursty-api.yaml|--replications 2 --set horizon.duration_s=2400"
"disaggregated-70b|scenarios/examples/disaggregated-70b.yaml|--replications 2 --set horizon.duration_s=900"
"chat-sessions|scenarios/examples/chat-sessions.yaml|--replications 2 --set horizon.duration_s=900"
"diurnal-day|scenarios/examples/diurnal-day.yaml|--replications 1 --set horizon.duration_s=21600"
"hybrid-spillover|scenarios/examples/hybrid-spillover.yaml|--replications 2 --set horizon.duration_s=600"
"levers-rag-api|scenarios/examples/levers-rag-api.yaml|--replications 1 --set horizon.duration_s=600"
"levers-selfhosted-chat|scenarios/examples/levers-selfhosted-chat.yaml|--replications 1 --set horizon.duration_s=900"
"mm1|scenarios/examples/mm1.yaml|--replications 2 --set horizon.requests=20000"
"mmc|scenarios/examples/mmc.yaml|--replications 2 --set horizon.requests=20000"
"mooncake-cache|scenarios/examples/mooncake-cache.yaml|--replications 1 --set horizon.requests=5000"
"offline-batch|scenarios/examples/offline-batch.yaml|--replications 2 --set horizon.duration_s=900"
"prefix-cache|scenarios/examples/prefix-cache.yaml|--replications 2"
"quantization-70b|scenarios/examples/quantization-70b.yaml|--replications 2 --set horizon.duration_s=900"
"noisy-tenant|scenarios/examples/noisy-tenant.yaml|--replications 2 --set horizon.duration_s=600"
"tenant-quota|scenarios/examples/tenant-quota.yaml|--replications 2 --set horizon.duration_s=600"
"rag-cached|scenarios/examples/rag-cached.yaml|--replications 1 --set horizon.duration_s=600"
"routing-walkthrough|scenarios/examples/routing-walkthrough.yaml|--replications 2 --set horizon.duration_s=600"
"self-hosted-linear|scenarios/examples/self-hosted-linear.yaml|--replications 2 --set horizon.duration_s=900"
"split-tiers|scenarios/examples/split-tiers.yaml|--replications 2 --set horizon.duration_s=600"
"tenants-tiers|scenarios/examples/tenants-tiers.yaml|--replications 2 --set horizon.duration_s=600"
"validate-rtx4090-llama8b|scenarios/examples/validate-rtx4090-llama8b.yaml|--replications 1"
"validate-rtxpro6000-llama8b|scenarios/examples/validate-rtxpro6000-llama8b.yaml|--replications 1"
"validate-rtxpro6000-qwen3-30b-a3b|scenarios/examples/validate-rtxpro6000-qwen3-30b-a3b.yaml|--replications 1"
"validate-rtxpro6000-qwen3-32b|scenarios/examples/validate-rtxpro6000-qwen3-32b.yaml|--replications 1"
"vidur-workload|scenarios/examples/vidur-workload.yaml|--replications 2 --set horizon.requests=20000 --set output.requests=true"
)
