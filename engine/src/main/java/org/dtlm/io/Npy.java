package org.dtlm.io;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * NumPy {@code .npy} files (format versions 1.0, 2.0 and 3.0; layout in data/README.md).
 *
 * <p>Reads C-ordered little-endian {@code '<f8'}, {@code '<f4'} (widened exactly to double) and {@code '|u1'};
 * writes {@code '<f8'} (or {@code '|u1'} for {@link NdArray.Dtype#UINT8}) with a version 1.0 header padded,
 * as numpy pads it, so that the data starts at a multiple of 64 bytes. Every error message starts with
 * the file's name.
 */
public final class Npy {

    static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** numpy aligns the start of the data to this many bytes. */
    private static final int HEADER_ALIGN = 64;
    /** Refuse longer headers as corrupt rather than allocate them (numpy's own default limit is 10000). */
    private static final int MAX_HEADER_BYTES = 1 << 16;
    /** A bad header is quoted in the error message up to this length. */
    private static final int SHOWN_HEADER_CHARS = 160;
    /** Bytes converted per read or write call. */
    private static final int CHUNK_BYTES = 1 << 16;

    private Npy() {
    }

    /** Element encodings this reader accepts, and the dtype each is held as. */
    enum Encoding {
        F8("<f8", 8, NdArray.Dtype.FLOAT64),
        F4("<f4", 4, NdArray.Dtype.FLOAT64),
        U1("|u1", 1, NdArray.Dtype.UINT8);

        final String descr;
        final int bytes;
        final NdArray.Dtype dtype;

        Encoding(String descr, int bytes, NdArray.Dtype dtype) {
            this.descr = descr;
            this.bytes = bytes;
            this.dtype = dtype;
        }
    }

    /** A parsed header; the data follow it immediately. */
    record Header(Encoding encoding, int[] shape) {
        long dataBytes() {
            return NdArray.sizeOf(shape) * encoding.bytes;
        }
    }

    public static NdArray read(Path file) throws IOException {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), CHUNK_BYTES)) {
            return read(in, file.toString());
        }
    }

    /** Reads one array from {@code in} and checks that the stream ends with it; {@code source} names it in errors. */
    public static NdArray read(InputStream in, String source) throws IOException {
        Header header = readHeader(in, source);
        long size = NdArray.sizeOf(header.shape);
        if (size > Integer.MAX_VALUE - 8) {
            throw new IOException(source + ": shape " + NdArray.shapeString(header.shape) + " has " + size
                    + " elements, too many to hold in one array");
        }
        double[] data = new double[(int) size];
        byte[] chunk = new byte[CHUNK_BYTES];
        ByteBuffer buffer = ByteBuffer.wrap(chunk).order(ByteOrder.LITTLE_ENDIAN);
        int perChunk = CHUNK_BYTES / header.encoding.bytes;
        for (int done = 0; done < data.length; ) {
            int n = Math.min(perChunk, data.length - done);
            int want = n * header.encoding.bytes;
            int got = in.readNBytes(chunk, 0, want);
            if (got < want) {
                throw new IOException(source + ": truncated: data end after "
                        + ((long) done * header.encoding.bytes + got) + " of " + header.dataBytes() + " bytes");
            }
            switch (header.encoding) {
                case F8 -> buffer.asDoubleBuffer().get(data, done, n);
                case F4 -> {
                    for (int i = 0; i < n; i++) {
                        data[done + i] = buffer.getFloat(4 * i);
                    }
                }
                case U1 -> {
                    for (int i = 0; i < n; i++) {
                        data[done + i] = Byte.toUnsignedInt(chunk[i]);
                    }
                }
            }
            done += n;
        }
        if (in.read() != -1) {
            throw new IOException(source + ": bytes after the data (the file is longer than shape "
                    + NdArray.shapeString(header.shape) + " needs)");
        }
        return new NdArray(header.encoding.dtype, data, header.shape);
    }

    /** Writes {@code a} to {@code file} atomically (temporary file in the same directory, then a rename). */
    public static void write(Path file, NdArray a) throws IOException {
        try (AtomicOutput out = AtomicOutput.create(file)) {
            OutputStream stream = new BufferedOutputStream(out.stream(), CHUNK_BYTES);
            write(stream, a);
            stream.flush();
            out.commit();
        }
    }

    /** Writes {@code a} as one .npy image (header and data) to {@code out}; does not flush or close it. */
    public static void write(OutputStream out, NdArray a) throws IOException {
        NdArray.Dtype dtype = a.dtype();
        out.write(header(dtype, a.shape()));
        double[] data = a.data();
        byte[] chunk = new byte[CHUNK_BYTES];
        ByteBuffer buffer = ByteBuffer.wrap(chunk).order(ByteOrder.LITTLE_ENDIAN);
        int perChunk = CHUNK_BYTES / dtype.bytes;
        for (int done = 0; done < data.length; done += perChunk) {
            int n = Math.min(perChunk, data.length - done);
            switch (dtype) {
                case FLOAT64 -> buffer.asDoubleBuffer().put(data, done, n);
                case UINT8 -> {
                    for (int i = 0; i < n; i++) {
                        chunk[i] = (byte) data[done + i];
                    }
                }
            }
            out.write(chunk, 0, n * dtype.bytes);
        }
    }

    /** Size in bytes of {@code a} written as .npy. */
    static long encodedBytes(NdArray a) {
        return header(a.dtype(), a.shape()).length + (long) a.size() * a.dtype().bytes;
    }

    /** A version 1.0 header: magic, version, little-endian uint16 length, then the dict padded with spaces and '\n'. */
    static byte[] header(NdArray.Dtype dtype, int[] shape) {
        String dict = "{'descr': '" + dtype.descr + "', 'fortran_order': False, 'shape': "
                + NdArray.shapeString(shape) + ", }";
        int preamble = MAGIC.length + 2 + 2;
        int padding = Math.floorMod(-(preamble + dict.length() + 1), HEADER_ALIGN);
        byte[] text = (dict + " ".repeat(padding) + "\n").getBytes(StandardCharsets.US_ASCII);
        ByteBuffer header = ByteBuffer.allocate(preamble + text.length).order(ByteOrder.LITTLE_ENDIAN);
        header.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) text.length).put(text);
        return header.array();
    }

    /** Reads the magic, version and header dict, leaving {@code in} at the first data byte. */
    static Header readHeader(InputStream in, String source) throws IOException {
        byte[] start = in.readNBytes(MAGIC.length + 2);
        for (int i = 0; i < MAGIC.length; i++) {
            if (i >= start.length || start[i] != MAGIC[i]) {
                throw new IOException(source + ": not a .npy file (bad magic)");
            }
        }
        if (start.length < MAGIC.length + 2) {
            throw new IOException(source + ": truncated: ends inside the header");
        }
        int major = start[MAGIC.length];
        int minor = start[MAGIC.length + 1];
        int lengthBytes = switch (major) {
            case 1 -> 2;
            case 2, 3 -> 4;
            default -> 0;
        };
        if (lengthBytes == 0 || minor != 0) {
            throw new IOException(source + ": .npy format version " + major + "." + minor
                    + " not supported (1.0, 2.0, 3.0)");
        }
        byte[] lengthField = in.readNBytes(lengthBytes);
        if (lengthField.length < lengthBytes) {
            throw new IOException(source + ": truncated: ends inside the header");
        }
        ByteBuffer lengthBuffer = ByteBuffer.wrap(lengthField).order(ByteOrder.LITTLE_ENDIAN);
        long length = lengthBytes == 2 ? Short.toUnsignedInt(lengthBuffer.getShort())
                : Integer.toUnsignedLong(lengthBuffer.getInt());
        if (length > MAX_HEADER_BYTES) {
            throw new IOException(source + ": bad header: length " + length + " exceeds " + MAX_HEADER_BYTES);
        }
        byte[] dictBytes = in.readNBytes((int) length);
        if (dictBytes.length < length) {
            throw new IOException(source + ": truncated: ends inside the header");
        }
        // Versions 1.0 and 2.0 store the dict in latin-1, 3.0 in UTF-8.
        String dict = new String(dictBytes, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        return new HeaderParser(dict, source).parse();
    }

    /** Parses the Python dict literal of a header, e.g. {@code {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }}. */
    private static final class HeaderParser {
        private final String text;
        private final String source;
        private int pos;

        HeaderParser(String text, String source) {
            this.text = text;
            this.source = source;
        }

        Header parse() throws IOException {
            Map<String, Object> dict = new HashMap<>();
            expect('{');
            while (skipSpaces() != '}') {
                String key = string();
                expect(':');
                if (dict.put(key, value()) != null) {
                    throw bad("key '" + key + "' appears twice");
                }
                if (skipSpaces() == ',') {
                    pos++;
                } else if (skipSpaces() != '}') {
                    throw bad("expected ',' or '}' at offset " + pos);
                }
            }
            pos++;
            if (!text.substring(pos).isBlank()) {
                throw bad("text after the closing '}'");
            }
            for (String key : dict.keySet()) {
                if (!List.of("descr", "fortran_order", "shape").contains(key)) {
                    throw bad("unexpected key '" + key + "'");
                }
            }
            if (!(dict.get("descr") instanceof String descr)) {
                throw bad("'descr' missing or not a string");
            }
            if (!(dict.get("fortran_order") instanceof Boolean fortranOrder)) {
                throw bad("'fortran_order' missing or not True/False");
            }
            if (!(dict.get("shape") instanceof int[] shape)) {
                throw bad("'shape' missing or not a tuple");
            }
            Encoding encoding = null;
            for (Encoding e : Encoding.values()) {
                if (e.descr.equals(descr)) {
                    encoding = e;
                }
            }
            if (encoding == null) {
                throw new IOException(source + ": dtype '" + descr + "' not supported (need little-endian float64"
                        + " '<f8'; also read: '<f4', '|u1')");
            }
            if (fortranOrder) {
                throw new IOException(source + ": fortran_order=True not supported (save a C-ordered array,"
                        + " e.g. np.ascontiguousarray(a))");
            }
            return new Header(encoding, shape);
        }

        private Object value() throws IOException {
            char c = skipSpaces();
            if (c == '\'' || c == '"') {
                return string();
            }
            if (text.startsWith("True", pos)) {
                pos += 4;
                return Boolean.TRUE;
            }
            if (text.startsWith("False", pos)) {
                pos += 5;
                return Boolean.FALSE;
            }
            if (c == '(') {
                return tuple();
            }
            throw bad("expected a string, True, False or a tuple at offset " + pos);
        }

        private String string() throws IOException {
            char quote = skipSpaces();
            if (quote != '\'' && quote != '"') {
                throw bad("expected a quoted string at offset " + pos);
            }
            int end = text.indexOf(quote, pos + 1);
            if (end < 0) {
                throw bad("unterminated string at offset " + pos);
            }
            String s = text.substring(pos + 1, end);
            pos = end + 1;
            return s;
        }

        /** {@code ()}, {@code (5,)}, {@code (3, 4)}: non-negative extents that fit an int. */
        private int[] tuple() throws IOException {
            expect('(');
            List<Integer> extents = new ArrayList<>();
            while (skipSpaces() != ')') {
                int start = pos;
                while (pos < text.length() && Character.isDigit(text.charAt(pos))) {
                    pos++;
                }
                try {
                    extents.add(Integer.parseInt(text.substring(start, pos)));
                } catch (NumberFormatException e) {
                    throw bad("expected a non-negative int extent at offset " + start);
                }
                if (skipSpaces() == ',') {
                    pos++;
                } else if (skipSpaces() != ')') {
                    throw bad("expected ',' or ')' at offset " + pos);
                }
            }
            pos++;
            return extents.stream().mapToInt(Integer::intValue).toArray();
        }

        private void expect(char c) throws IOException {
            if (skipSpaces() != c) {
                throw bad("expected '" + c + "' at offset " + pos);
            }
            pos++;
        }

        /** Skips spaces and returns the next character, or NUL at the end. */
        private char skipSpaces() {
            while (pos < text.length() && Character.isWhitespace(text.charAt(pos))) {
                pos++;
            }
            return pos < text.length() ? text.charAt(pos) : '\0';
        }

        private IOException bad(String what) {
            String shown = text.strip();
            if (shown.length() > SHOWN_HEADER_CHARS) {
                shown = shown.substring(0, SHOWN_HEADER_CHARS) + "...";
            }
            return new IOException(source + ": bad header " + shown + ": " + what);
        }
    }
}
