// Parses and validates a safetensors JSON header in full before any tensor data is touched. A checkpoint is
// untrusted input: every malformed header becomes one SafeTensorsFormatException naming the file, the tensor and
// what was expected, never a parser exception, an overflow or a huge allocation. Jackson's streaming parser (with
// depth, number and string limits) is used so that the checks sit next to the token they are about. Rules follow
// the reference reader (huggingface/safetensors, tensor.rs): 8-byte length, UTF-8 JSON starting with '{',
// tensors covering the data section exactly, without overlaps or gaps.
package dev.dragedit.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamReadException;
import dev.dragedit.tensor.DType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static dev.dragedit.io.SafeTensorsFormatException.quote;

/** The validated content of a safetensors header. Tensors are in header order. */
record SafeTensorsHeader(List<TensorInfo> tensors, Map<String, String> metadata) {
    static final String METADATA_KEY = "__metadata__";
    /** The reference reader's cap; a larger length field is corruption, and we never allocate from it. */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    static final int MAX_RANK = 32;

    private static final String SUPPORTED = Arrays.stream(DType.values()).map(d -> d.safetensorsName)
            .collect(Collectors.joining(", "));

    /** Parses {@code header} (the N bytes after the length prefix) of a file whose data section has dataSize bytes. */
    static SafeTensorsHeader parse(Path file, byte[] header, long dataSize) throws SafeTensorsFormatException {
        if (header.length == 0 || header[0] != '{')
            throw new SafeTensorsFormatException(file, "header does not start with '{' (found "
                    + (header.length == 0 ? "an empty header" : String.format("byte 0x%02x", header[0] & 0xff)) + ")");
        checkUtf8(file, header);
        List<TensorInfo> tensors = new ArrayList<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        JsonFactory factory = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxNestingDepth(64)
                        .maxNumberLength(64)
                        .maxStringLength(Math.max(header.length, 1))
                        .maxNameLength(Math.max(header.length, 1))
                        .build())
                // Names are unique, so a symbol table saves nothing, and its hash-flooding guard would throw an
                // IllegalStateException on crafted names. (Jackson then parses through a UTF-8 Reader: char offsets.)
                .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
                .build();
        try (JsonParser p = factory.createParser(header)) {
            p.nextToken(); // '{' checked above
            Set<String> names = new HashSet<>();
            boolean sawMetadata = false;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                p.nextToken();
                if (METADATA_KEY.equals(key)) {
                    if (sawMetadata) throw new SafeTensorsFormatException(file, METADATA_KEY + " appears twice in the header");
                    sawMetadata = true;
                    readMetadata(file, p, metadata);
                } else {
                    if (!names.add(key)) throw new SafeTensorsFormatException(file, key, "appears twice in the header");
                    tensors.add(readEntry(file, p, key, dataSize));
                }
            }
            JsonToken after = p.nextToken();
            if (after != null)
                throw new SafeTensorsFormatException(file, "found " + describe(p, after)
                        + " after the header object" + where(p.currentTokenLocation()));
        } catch (StreamReadException e) {
            throw new SafeTensorsFormatException(file, "header is not valid JSON: " + e.getOriginalMessage() + where(e.getLocation()));
        } catch (JsonProcessingException e) {
            throw new SafeTensorsFormatException(file, "header is not valid JSON: " + e.getOriginalMessage());
        } catch (SafeTensorsFormatException e) {
            throw e;
        } catch (IOException e) {
            throw new IllegalStateException("reading JSON from a byte array cannot fail with I/O", e);
        }
        checkLayout(file, tensors, dataSize);
        return new SafeTensorsHeader(Collections.unmodifiableList(tensors), Collections.unmodifiableMap(metadata));
    }

    /** The reference rejects invalid UTF-8; decoding in small chunks validates without a copy of the header. */
    private static void checkUtf8(Path file, byte[] header) throws SafeTensorsFormatException {
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(header);
        CharBuffer out = CharBuffer.allocate(8192);
        while (true) {
            CoderResult r = dec.decode(in, out, true);
            if (r.isError())
                throw new SafeTensorsFormatException(file, String.format("header is not valid UTF-8 (byte 0x%02x at header byte %d)",
                        header[in.position()] & 0xff, in.position()));
            if (r.isUnderflow()) break;
            out.clear();
        }
    }

    private static void readMetadata(Path file, JsonParser p, Map<String, String> out) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) return; // the reference reads null as "no metadata"
        if (t != JsonToken.START_OBJECT)
            throw new SafeTensorsFormatException(file, METADATA_KEY + " is " + describe(p, t) + ", expected an object of strings");
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            JsonToken v = p.nextToken();
            if (v != JsonToken.VALUE_STRING)
                throw new SafeTensorsFormatException(file, METADATA_KEY + " entry " + quote(key) + " is "
                        + describe(p, v) + ", expected a string");
            if (out.putIfAbsent(key, p.getText()) != null)
                throw new SafeTensorsFormatException(file, METADATA_KEY + " entry " + quote(key) + " appears twice");
        }
    }

    private static TensorInfo readEntry(Path file, JsonParser p, String name, long dataSize) throws IOException {
        JsonToken t = p.currentToken();
        if (t != JsonToken.START_OBJECT)
            throw new SafeTensorsFormatException(file, name, "entry is " + describe(p, t)
                    + ", expected an object with \"dtype\", \"shape\" and \"data_offsets\"");
        DType dtype = null;
        int[] shape = null;
        long[] offsets = null;
        Set<String> seen = new HashSet<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            p.nextToken();
            if (!seen.add(field)) throw new SafeTensorsFormatException(file, name, "field " + quote(field) + " appears twice");
            switch (field) {
                case "dtype" -> dtype = readDtype(file, p, name);
                case "shape" -> shape = readShape(file, p, name);
                case "data_offsets" -> offsets = readOffsets(file, p, name);
                default -> p.skipChildren(); // unknown fields are ignored, as the reference reader does
            }
        }
        if (dtype == null) throw new SafeTensorsFormatException(file, name, "entry has no \"dtype\"");
        if (shape == null) throw new SafeTensorsFormatException(file, name, "entry has no \"shape\"");
        if (offsets == null) throw new SafeTensorsFormatException(file, name, "entry has no \"data_offsets\"");

        long bytes;
        try {
            long numel = 1;
            boolean empty = Arrays.stream(shape).anyMatch(d -> d == 0); // a zero dim makes any product 0, even one that overflows
            if (!empty) for (int d : shape) numel = Math.multiplyExact(numel, d);
            bytes = empty ? 0 : Math.multiplyExact(numel, dtype.bytes);
        } catch (ArithmeticException e) {
            throw new SafeTensorsFormatException(file, name, "shape " + Arrays.toString(shape) + " of " + dtype
                    + " has more bytes than fit in 64 bits");
        }
        long begin = offsets[0], end = offsets[1];
        String span = "data_offsets [" + begin + ", " + end + "]";
        if (begin > end) throw new SafeTensorsFormatException(file, name, span + ": begin is after end");
        if (end - begin != bytes)
            throw new SafeTensorsFormatException(file, name, span + " span " + (end - begin) + " bytes, but " + dtype
                    + " with shape " + Arrays.toString(shape) + " needs " + bytes);
        if (end > dataSize)
            throw new SafeTensorsFormatException(file, name, span + " reach past the end of the data section, which has "
                    + dataSize + " bytes (truncated file?)");
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static DType readDtype(Path file, JsonParser p, String name) throws IOException {
        JsonToken t = p.currentToken();
        if (t != JsonToken.VALUE_STRING)
            throw new SafeTensorsFormatException(file, name, "dtype is " + describe(p, t) + ", expected a string");
        DType d = DType.fromSafetensors(p.getText());
        if (d == null)
            throw new SafeTensorsFormatException(file, name, "dtype " + quote(p.getText())
                    + " is not supported; expected one of " + SUPPORTED);
        return d;
    }

    private static int[] readShape(Path file, JsonParser p, String name) throws IOException {
        JsonToken t = p.currentToken();
        if (t != JsonToken.START_ARRAY)
            throw new SafeTensorsFormatException(file, name, "shape is " + describe(p, t) + ", expected a list of non-negative integers");
        int[] dims = new int[4];
        int rank = 0;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (rank == MAX_RANK)
                throw new SafeTensorsFormatException(file, name, "shape has more than " + MAX_RANK + " dimensions");
            long d = readNonNegative(file, p, t, name, "shape[" + rank + "]", Integer.MAX_VALUE);
            if (rank == dims.length) dims = Arrays.copyOf(dims, 2 * rank);
            dims[rank++] = (int) d;
        }
        return Arrays.copyOf(dims, rank);
    }

    private static long[] readOffsets(Path file, JsonParser p, String name) throws IOException {
        JsonToken t = p.currentToken();
        if (t != JsonToken.START_ARRAY)
            throw new SafeTensorsFormatException(file, name, "data_offsets is " + describe(p, t) + ", expected [begin, end]");
        long[] o = new long[2];
        int n = 0;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (n == 2) throw new SafeTensorsFormatException(file, name, "data_offsets has more than two entries, expected [begin, end]");
            o[n] = readNonNegative(file, p, t, name, "data_offsets[" + n + "]", Long.MAX_VALUE);
            n++;
        }
        if (n != 2) throw new SafeTensorsFormatException(file, name, "data_offsets has " + n + " entries, expected [begin, end]");
        return o;
    }

    private static long readNonNegative(Path file, JsonParser p, JsonToken t, String name, String what, long max) throws IOException {
        if (t != JsonToken.VALUE_NUMBER_INT)
            throw new SafeTensorsFormatException(file, name, what + " is " + describe(p, t) + ", expected a non-negative integer");
        if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER || p.getLongValue() > max)
            throw new SafeTensorsFormatException(file, name, what + " is " + p.getText() + ", expected an integer in [0, " + max + "]");
        long v = p.getLongValue();
        if (v < 0) throw new SafeTensorsFormatException(file, name, what + " is " + v + ", expected a non-negative integer");
        return v;
    }

    /** Tensors must tile the data section exactly: sorted by offset, each starts where the previous one ended. */
    private static void checkLayout(Path file, List<TensorInfo> tensors, long dataSize) throws SafeTensorsFormatException {
        List<TensorInfo> sorted = new ArrayList<>(tensors);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long expected = 0;
        TensorInfo prev = null;
        for (TensorInfo t : sorted) {
            String span = "data_offsets [" + t.begin() + ", " + t.end() + "]";
            if (t.begin() < expected)
                throw new SafeTensorsFormatException(file, t.name(), span + " overlap tensor " + quote(prev.name())
                        + " at [" + prev.begin() + ", " + prev.end() + "]");
            if (t.begin() > expected)
                throw new SafeTensorsFormatException(file, t.name(), span + " leave bytes [" + expected + ", " + t.begin()
                        + ") of the data section unused; tensors must cover it without gaps");
            expected = t.end();
            prev = t;
        }
        if (expected != dataSize)
            throw new SafeTensorsFormatException(file, "the data section has " + dataSize + " bytes but the tensors cover "
                    + expected + "; tensors must cover it exactly (trailing bytes or a corrupt header)");
    }

    private static String where(JsonLocation at) {
        if (at == null) return "";
        long offset = at.getCharOffset() >= 0 ? at.getCharOffset() : at.getByteOffset();
        return offset < 0 ? "" : " (at header character " + offset + ")";
    }

    private static String describe(JsonParser p, JsonToken t) throws IOException {
        if (t == null) return "the end of the header";
        return switch (t) {
            case VALUE_STRING -> "the string " + quote(p.getText());
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "the number " + p.getText();
            case VALUE_TRUE, VALUE_FALSE, VALUE_NULL -> p.getText();
            case START_ARRAY -> "an array";
            case START_OBJECT -> "an object";
            default -> quote(String.valueOf(p.getText()));
        };
    }
}
