# rl_base's sources, for its library (common/CMakeLists.txt) and the fuzzers' separate build
# (tests/fuzz), which compiles them with libFuzzer's instrumentation.
set(RL_BASE_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/callback_guard.cc
  ${CMAKE_CURRENT_LIST_DIR}/circuit_breaker.cc
  ${CMAKE_CURRENT_LIST_DIR}/digest.cc
  ${CMAKE_CURRENT_LIST_DIR}/identifiers.cc
  ${CMAKE_CURRENT_LIST_DIR}/iso_time.cc
  ${CMAKE_CURRENT_LIST_DIR}/request_id.cc
  ${CMAKE_CURRENT_LIST_DIR}/logging.cc
  ${CMAKE_CURRENT_LIST_DIR}/metrics.cc
  ${CMAKE_CURRENT_LIST_DIR}/periodic_thread.cc
  ${CMAKE_CURRENT_LIST_DIR}/settings.cc
  ${CMAKE_CURRENT_LIST_DIR}/signals.cc
  ${CMAKE_CURRENT_LIST_DIR}/strict_json.cc)
