// Malformed safetensors files, built byte by byte: each must fail to open with one SafeTensorsFormatException that
// names the file, the tensor where there is one, and what was expected versus found; never a parser exception,
// an arithmetic overflow or an allocation sized by a corrupt length field.
package dev.dragedit.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

class SafeTensorsMalformedTest {
    @TempDir
    Path dir;

    /** 8-byte little-endian length, the header bytes, then dataBytes of zeros. */
    static byte[] file(byte[] header, long declaredLength, int dataBytes) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(declaredLength).array());
        out.writeBytes(header);
        out.writeBytes(new byte[dataBytes]);
        return out.toByteArray();
    }

    static byte[] file(String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return file(h, h.length, dataBytes);
    }

    static String entry(String name, String dtype, String shape, String offsets) {
        return "\"" + name + "\":{\"dtype\":" + dtype + ",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
    }

    /** Opens bytes written to a file and returns the error, checking it names the file and the tensor. */
    SafeTensorsFormatException openFails(byte[] bytes, String tensor, String... fragments) throws IOException {
        Path p = dir.resolve("bad.safetensors");
        Files.write(p, bytes);
        SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> SafeTensors.open(p).close());
        String m = e.getMessage();
        assertTrue(m.contains("bad.safetensors"), "file not named: " + m);
        assertEquals(p, e.file());
        assertEquals(tensor, e.tensor(), m);
        if (tensor != null) assertTrue(m.contains(SafeTensorsFormatException.quote(tensor)), "tensor not named: " + m);
        for (String f : fragments) assertTrue(m.contains(f), "expected \"" + f + "\" in: " + m);
        return e;
    }

    static Stream<Arguments> malformedHeaders() {
        String ok = entry("w", "\"F32\"", "[2]", "[0,8]");
        String nested = "[".repeat(200) + "]".repeat(200);
        return Stream.of(
                arguments("truncated JSON", "{\"w\":", 0, null, new String[]{"not valid JSON", "end-of-input", "at header character 5"}),
                arguments("top level is an array", "[1,2]", 0, null, new String[]{"does not start with '{'", "0x5b"}),
                arguments("leading space", " {}", 0, null, new String[]{"does not start with '{'"}),
                arguments("empty header", "", 0, null, new String[]{"empty header"}),
                arguments("second object after the header", "{} {}", 0, null, new String[]{"found an object after the header object (at header character 3)"}),
                arguments("garbage after the header", "{}x", 0, null, new String[]{"not valid JSON"}),
                arguments("NUL padding", "{}\0\0", 0, null, new String[]{"not valid JSON"}),
                arguments("comment", "{/* hi */}", 0, null, new String[]{"not valid JSON"}),
                arguments("deep nesting", "{\"w\":{\"x\":" + nested + "}}", 0, null, new String[]{"not valid JSON", "depth"}),
                arguments("entry not an object", "{\"w\":5}", 0, "w", new String[]{"entry is the number 5", "expected an object"}),
                arguments("entry is a list", "{\"w\":[\"F32\"]}", 0, "w", new String[]{"entry is an array"}),
                arguments("missing dtype", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "w", new String[]{"no \"dtype\""}),
                arguments("unknown dtype", "{" + entry("w", "\"F128\"", "[1]", "[0,4]") + "}", 4, "w",
                        new String[]{"dtype \"F128\" is not supported", "expected one of F32, F16, BF16"}),
                arguments("unsupported dtype", "{" + entry("w", "\"BOOL\"", "[1]", "[0,1]") + "}", 1, "w", new String[]{"\"BOOL\" is not supported"}),
                arguments("lower-case dtype", "{" + entry("w", "\"f32\"", "[1]", "[0,4]") + "}", 4, "w", new String[]{"\"f32\" is not supported"}),
                arguments("dtype not a string", "{" + entry("w", "4", "[1]", "[0,4]") + "}", 4, "w", new String[]{"dtype is the number 4, expected a string"}),
                arguments("missing shape", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "w", new String[]{"no \"shape\""}),
                arguments("shape not a list", "{" + entry("w", "\"F32\"", "\"2x2\"", "[0,16]") + "}", 16, "w",
                        new String[]{"shape is the string \"2x2\", expected a list of non-negative integers"}),
                arguments("negative dimension", "{" + entry("w", "\"F32\"", "[2,-1]", "[0,8]") + "}", 8, "w",
                        new String[]{"shape[1] is -1, expected a non-negative integer"}),
                arguments("fractional dimension", "{" + entry("w", "\"F32\"", "[2.0]", "[0,8]") + "}", 8, "w",
                        new String[]{"shape[0] is the number 2.0"}),
                arguments("exponent dimension", "{" + entry("w", "\"F32\"", "[1e400]", "[0,8]") + "}", 8, "w",
                        new String[]{"shape[0] is the number 1e400"}),
                arguments("nested dimension", "{" + entry("w", "\"F32\"", "[[2]]", "[0,8]") + "}", 8, "w",
                        new String[]{"shape[0] is an array"}),
                arguments("null dimension", "{" + entry("w", "\"F32\"", "[null]", "[0,8]") + "}", 8, "w", new String[]{"shape[0] is null"}),
                arguments("dimension over 2^31", "{" + entry("w", "\"U8\"", "[4294967296]", "[0,4294967296]") + "}", 0, "w",
                        new String[]{"shape[0] is 4294967296, expected an integer in [0, 2147483647]"}),
                arguments("dimension over 2^64", "{" + entry("w", "\"U8\"", "[99999999999999999999999]", "[0,1]") + "}", 1, "w",
                        new String[]{"shape[0] is 99999999999999999999999"}),
                arguments("too many dimensions", "{" + entry("w", "\"F32\"", "[" + "1,".repeat(32) + "1]", "[0,4]") + "}", 4, "w",
                        new String[]{"more than 32 dimensions"}),
                arguments("element count overflows", "{" + entry("w", "\"F32\"", "[2147483647,2147483647,2147483647]", "[0,4]") + "}", 4, "w",
                        new String[]{"more bytes than fit in 64 bits"}),
                arguments("byte count overflows", "{" + entry("w", "\"F64\"", "[2147483647,2147483647,2]", "[0,4]") + "}", 4, "w",
                        new String[]{"more bytes than fit in 64 bits"}),
                arguments("missing data_offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "w", new String[]{"no \"data_offsets\""}),
                arguments("one offset", "{" + entry("w", "\"F32\"", "[1]", "[0]") + "}", 4, "w", new String[]{"data_offsets has 1 entries, expected [begin, end]"}),
                arguments("three offsets", "{" + entry("w", "\"F32\"", "[1]", "[0,4,8]") + "}", 8, "w", new String[]{"more than two entries"}),
                arguments("offsets not a list", "{" + entry("w", "\"F32\"", "[1]", "{\"begin\":0}") + "}", 4, "w", new String[]{"data_offsets is an object"}),
                arguments("string offset", "{" + entry("w", "\"F32\"", "[1]", "[0,\"4\"]") + "}", 4, "w", new String[]{"data_offsets[1] is the string \"4\""}),
                arguments("fractional offset", "{" + entry("w", "\"F32\"", "[1]", "[0,4.0]") + "}", 4, "w", new String[]{"data_offsets[1] is the number 4.0"}),
                arguments("negative offset", "{" + entry("w", "\"F32\"", "[1]", "[-4,0]") + "}", 4, "w", new String[]{"data_offsets[0] is -4"}),
                arguments("offset over 2^63", "{" + entry("w", "\"F32\"", "[1]", "[0,18446744073709551615]") + "}", 4, "w",
                        new String[]{"data_offsets[1] is 18446744073709551615"}),
                arguments("begin after end", "{" + entry("w", "\"F32\"", "[0]", "[8,4]") + "}", 8, "w", new String[]{"[8, 4]: begin is after end"}),
                arguments("byte count mismatch", "{" + entry("w", "\"F32\"", "[3]", "[0,8]") + "}", 8, "w",
                        new String[]{"span 8 bytes, but F32 with shape [3] needs 12"}),
                arguments("past the data section", "{" + entry("w", "\"F32\"", "[4]", "[0,16]") + "}", 12, "w",
                        new String[]{"reach past the end of the data section, which has 12 bytes"}),
                arguments("overlapping tensors", "{" + entry("a", "\"F32\"", "[2]", "[0,8]") + "," + entry("b", "\"F32\"", "[2]", "[4,12]") + "}", 12, "b",
                        new String[]{"[4, 12] overlap tensor \"a\" at [0, 8]"}),
                arguments("identical ranges", "{" + entry("a", "\"F32\"", "[2]", "[0,8]") + "," + entry("b", "\"I32\"", "[2]", "[0,8]") + "}", 8, "b",
                        new String[]{"overlap tensor \"a\""}),
                arguments("gap between tensors", "{" + entry("a", "\"F32\"", "[1]", "[0,4]") + "," + entry("b", "\"F32\"", "[1]", "[8,12]") + "}", 12, "b",
                        new String[]{"leave bytes [4, 8) of the data section unused"}),
                arguments("trailing data bytes", "{" + ok + "}", 12, null, new String[]{"data section has 12 bytes but the tensors cover 8"}),
                arguments("duplicate tensor", "{" + ok + "," + ok + "}", 8, "w", new String[]{"appears twice in the header"}),
                arguments("duplicate field", "{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "w",
                        new String[]{"field \"dtype\" appears twice"}),
                arguments("two metadata maps", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, null, new String[]{"__metadata__ appears twice"}),
                arguments("duplicate metadata key", "{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0, null, new String[]{"entry \"k\" appears twice"}),
                arguments("metadata value not a string", "{" + ok + ",\"__metadata__\":{\"epochs\":3}}", 8, null,
                        new String[]{"__metadata__ entry \"epochs\" is the number 3, expected a string"}),
                arguments("metadata not an object", "{\"__metadata__\":[\"a\"]}", 0, null, new String[]{"__metadata__ is an array, expected an object of strings"}),
                arguments("control character in a name is escaped", "{\"w\\n\":5}", 0, "w\n", new String[]{"\"w\\u000a\""}));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedHeaders")
    void malformedHeaderGivesOneClearError(String label, String header, int dataBytes, String tensor, String[] fragments) throws IOException {
        openFails(file(header, dataBytes), tensor, fragments);
    }

    @Test
    void invalidUtf8InTheHeaderIsRejected() throws IOException {
        byte[] h = "{\"w?\":5}".getBytes(StandardCharsets.US_ASCII);
        h[3] = (byte) 0xff;
        openFails(file(h, h.length, 0), null, "not valid UTF-8", "0xff", "header byte 3");
        byte[] overlong = {'{', '"', (byte) 0xc0, (byte) 0x80, '"', ':', '1', '}'}; // an overlong NUL
        openFails(file(overlong, overlong.length, 0), null, "not valid UTF-8");
    }

    @Test
    void fileShorterThanTheLengthPrefixIsRejected() throws IOException {
        openFails(new byte[0], null, "file is 0 bytes, too short for the 8-byte header length");
        openFails(new byte[]{2, 0, 0, 0, 0}, null, "file is 5 bytes");
    }

    @Test
    void headerLengthBeyondTheFileIsRejectedWithoutAllocatingIt() throws IOException {
        byte[] h = "{}".getBytes(StandardCharsets.UTF_8);
        openFails(file(h, 3, 0), null, "header length 3 is larger than the 2 bytes that follow it");
        openFails(file(h, 99_999_999, 0), null, "header length 99999999 is larger than the 2 bytes");
        openFails(file(h, 100_000_001, 0), null, "header length 100000001 exceeds the limit of 100000000 bytes");
        openFails(file(h, -1, 0), null, "header length 18446744073709551615 exceeds the limit");
        openFails(file(h, Long.MIN_VALUE, 0), null, "header length 9223372036854775808 exceeds the limit");
    }

    @Test
    void directoryIsNotASafetensorsFile() throws IOException {
        Path d = Files.createDirectory(dir.resolve("model.safetensors"));
        SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> SafeTensors.open(d));
        assertTrue(e.getMessage().contains("model.safetensors: is a directory"), e.getMessage());
    }

    @Test
    void unusualButValidHeadersAreAccepted() throws IOException {
        Path p = dir.resolve("ok.safetensors");
        Files.write(p, file("{}", 0));
        try (SafeTensors st = SafeTensors.open(p)) {
            assertEquals(0, st.size());
            assertEquals(Map.of(), st.metadata());
        }
        // Null metadata (the reference reads it as none), unknown fields (ignored like the reference does), padding,
        // zero-size tensors sharing an offset with a neighbour, and an empty dimension in an otherwise huge shape.
        String h = "{\"__metadata__\":null,"
                + "\"z\":{\"dtype\":\"F16\",\"shape\":[0,3],\"data_offsets\":[4,4],\"extra\":{\"deep\":[1,{\"x\":null}]}},"
                + entry("a", "\"I32\"", "[1]", "[0,4]") + ","
                + entry("e", "\"F64\"", "[2147483647,0,2147483647,2147483647]", "[4,4]") + "}   \n\t ";
        Files.write(p, file(h, 4));
        try (SafeTensors st = SafeTensors.open(p)) {
            assertEquals(List.of("z", "a", "e"), st.names());
            assertEquals(0, st.get("e").numel());
            assertEquals(0, st.get("z").numel());
            assertEquals(0, st.get("a").getFloat(0));
        }
    }
}
