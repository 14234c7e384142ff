// Reads zips the way CodePipeline does, with java.util.zip.ZipInputStream, and prints one line
// per entry: name, method, size and CRC-32 as known from the local header (before the data is
// read; -1 when the entry defers them to a data descriptor), then the bytes read and their sha256.
// Run: java ZipRead.java FILE.zip            (one zip; an exception ends the run, exit 1)
//      java ZipRead.java --batch LIST        (every zip named in LIST, one path a line; per zip
//                                             "file\tPATH", its entries, then "end\tok" or
//                                             "end\terror\tEXCEPTION: MESSAGE")
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

public class ZipRead {
    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(new java.io.BufferedOutputStream(System.out), false, "UTF-8");
        if (args.length == 2 && args[0].equals("--batch")) {
            for (String path : Files.readAllLines(Path.of(args[1]))) {
                out.printf("file\t%s%n", path);
                try {
                    read(path, out);
                    out.println("end\tok");
                } catch (Throwable e) {
                    out.printf("end\terror\t%s: %s%n", e.getClass().getName(),
                            String.valueOf(e.getMessage()).replace('\n', ' '));
                }
            }
        } else {
            read(args[0], out);
        }
        out.flush();
    }

    static void read(String path, PrintStream out) throws Exception {
        try (InputStream file = new FileInputStream(path);
             ZipInputStream zip = new ZipInputStream(file)) {
            ZipEntry entry;
            byte[] buf = new byte[8192];
            while ((entry = zip.getNextEntry()) != null) {
                String method = entry.getMethod() == ZipEntry.DEFLATED ? "DEFLATED"
                        : entry.getMethod() == ZipEntry.STORED ? "STORED" : "OTHER";
                long size = entry.getSize();
                long crc = entry.getCrc();
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                long read = 0;
                int n;
                while ((n = zip.read(buf)) > 0) {
                    sha.update(buf, 0, n);
                    read += n;
                }
                out.printf("%s\t%s\t%d\t%d\t%d\t%s%n", entry.getName(), method, size, crc,
                        read, HexFormat.of().formatHex(sha.digest()));
            }
        }
    }
}
