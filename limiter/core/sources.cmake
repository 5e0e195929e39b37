# The core's sources, for its library (CMakeLists.txt here) and the fuzzers' separate build
# (tests/fuzz), which compiles them with libFuzzer's instrumentation.
set(RL_LIMITER_CORE_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/algorithm/algorithms.cc
  ${CMAKE_CURRENT_LIST_DIR}/api_key_resolver.cc
  ${CMAKE_CURRENT_LIST_DIR}/blocked_cache.cc
  ${CMAKE_CURRENT_LIST_DIR}/decision_core.cc
  ${CMAKE_CURRENT_LIST_DIR}/async_decision_service.cc
  ${CMAKE_CURRENT_LIST_DIR}/decision_service.cc
  ${CMAKE_CURRENT_LIST_DIR}/descriptor_config.cc
  ${CMAKE_CURRENT_LIST_DIR}/keys.cc
  ${CMAKE_CURRENT_LIST_DIR}/policy.cc
  ${CMAKE_CURRENT_LIST_DIR}/policy_holder.cc
  ${CMAKE_CURRENT_LIST_DIR}/verdict.cc
  ${CMAKE_CURRENT_LIST_DIR}/yaml_reader.cc)
