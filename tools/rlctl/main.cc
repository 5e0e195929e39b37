// rlctl's composition root: the environment and the command line in, an exit code out.
#include <cstdlib>
#include <iostream>

#include "tools/rlctl/rlctl.h"

extern char** environ;

int main(int argc, char** argv) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const size_t eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return rl::rlctl::Run(std::vector<std::string>(argv + 1, argv + argc),
                        rl::rlctl::ContextFromEnv(env), std::cout, std::cerr);
}
