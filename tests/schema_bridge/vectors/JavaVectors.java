// Known-answer vectors for schema_bridge.passwords/encryption, computed by the JDK's own
// crypto providers (the ones CloudStack's encryptors sit on). Run: java JavaVectors.java
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import javax.crypto.Cipher;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.PBEParameterSpec;
import javax.crypto.spec.SecretKeySpec;

public class JavaVectors {
    static final String SECRET = "stackshift-secret";
    static final String MESSAGE = "hello, cloud \u00e9\u20ac";

    static byte[] counting(int length, int start) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) bytes[i] = (byte) (start + i);
        return bytes;
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    public static void main(String[] args) throws Exception {
        Base64.Encoder b64 = Base64.getEncoder();
        // V1: PBEWithMD5AndDES, 8-byte salt, 1000 iterations, output base64(salt + ciphertext).
        byte[] salt = counting(8, 1);
        SecretKeyFactory pbe = SecretKeyFactory.getInstance("PBEWithMD5AndDES");
        Cipher des = Cipher.getInstance("PBEWithMD5AndDES");
        des.init(Cipher.ENCRYPT_MODE, pbe.generateSecret(new PBEKeySpec(SECRET.toCharArray())),
                new PBEParameterSpec(salt, 1000));
        byte[] v1 = concat(salt, des.doFinal(MESSAGE.getBytes(StandardCharsets.UTF_8)));
        System.out.println("V1 " + b64.encodeToString(v1));
        // V2: AES-256-GCM, key SHA-256(secret), 12-byte IV, 128-bit tag, no AAD.
        byte[] key = MessageDigest.getInstance("SHA-256").digest(SECRET.getBytes(StandardCharsets.UTF_8));
        byte[] iv = counting(12, 32);
        Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
        gcm.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, iv));
        System.out.println("V2 " + b64.encodeToString(concat(iv, gcm.doFinal(MESSAGE.getBytes(StandardCharsets.UTF_8)))));
        // PBKDF2-HMAC-SHA1, 64-byte salt, 100000 iterations, 512-bit key.
        byte[] pwSalt = counting(64, 7);
        SecretKeyFactory pbkdf2 = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA1");
        byte[] hash = pbkdf2.generateSecret(new PBEKeySpec("pässword".toCharArray(), pwSalt, 100000, 512)).getEncoded();
        System.out.println("PBKDF2 " + b64.encodeToString(pwSalt) + ":" + b64.encodeToString(hash) + ":100000");
        // SHA256SALT: SHA-256(password bytes + 32-byte salt).
        byte[] shaSalt = counting(32, 9);
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        sha.update("pässword".getBytes(StandardCharsets.UTF_8));
        sha.update(shaSalt);
        System.out.println("SHA256SALT " + b64.encodeToString(shaSalt) + ":" + b64.encodeToString(sha.digest()));
    }
}
