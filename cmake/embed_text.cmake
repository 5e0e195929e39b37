# cmake -DINPUT=file -DOUTPUT=header -DSYMBOL=name -P embed_text.cmake
# Writes `inline constexpr std::string_view SYMBOL = R"rl_embed(...)rl_embed";`.
file(READ ${INPUT} content)
file(WRITE ${OUTPUT}
  "// Generated from ${INPUT} at build time; edit the source file instead.\n"
  "#pragma once\n#include <string_view>\n"
  "inline constexpr std::string_view ${SYMBOL} = R\"rl_embed(${content})rl_embed\";\n")
