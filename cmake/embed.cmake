# embed.cmake - turns a file into a C array: cmake -DIN= -DOUT= -DNAME= [-DTEXT=ON] -P embed.cmake
# With TEXT the array also ends in a NUL byte (not counted in NAME_len), so it can be used as
# a C string, e.g. SQL migrations: (const char *)NAME.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
if(TEXT)
  string(APPEND body "0x00,")
endif()
file(WRITE ${OUT} "/* Generated from ${IN} by cmake/embed.cmake. Do not edit. */\n"
  "extern const unsigned char ${NAME}[];\nextern const unsigned long ${NAME}_len;\n"
  "const unsigned char ${NAME}[] = {${body}};\n"
  "const unsigned long ${NAME}_len = ${len};\n")
