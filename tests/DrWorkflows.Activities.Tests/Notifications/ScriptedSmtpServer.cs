using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace DrWorkflows.Activities.Tests.Notifications;

/// <summary>
/// A small in-process SMTP server (RFC 5321 subset) for what netDumbster cannot do: STARTTLS with a
/// self-signed certificate, AUTH PLAIN/LOGIN checked against a user and password, and scripted refusals
/// (a recipient refused with 550, a first transaction answered 451). Listens on a free loopback port.
/// </summary>
internal sealed class ScriptedSmtpServer : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource stop = new();
    private readonly X509Certificate2 certificate;
    private readonly Task accepting;
    private int temporaryFailuresLeft;

    public ScriptedSmtpServer(string userName = "dr-bot", string password = "s3cret-Pa55", bool offerStartTls = true, int temporaryFailures = 0, string? refuseRecipient = null)
    {
        UserName = userName;
        Password = password;
        OfferStartTls = offerStartTls;
        temporaryFailuresLeft = temporaryFailures;
        RefuseRecipient = refuseRecipient;
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
        listener.Start();
        accepting = AcceptAsync();
    }

    public string UserName { get; }

    public string Password { get; }

    public bool OfferStartTls { get; }

    public string? RefuseRecipient { get; }

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    /// <summary>SHA-256 of the certificate, as Notifications:Email:ServerCertificateSha256 pins it.</summary>
    public string CertificateSha256 => Convert.ToHexString(SHA256.HashData(certificate.RawData));

    public ConcurrentQueue<Session> Sessions { get; } = new();

    public ConcurrentQueue<ReceivedMail> Received { get; } = new();

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener.Stop();
        try
        {
            await accepting;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        certificate.Dispose();
        stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            var client = await listener.AcceptTcpClientAsync(stop.Token);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        var session = new Session();
        Sessions.Enqueue(session);
        using (client)
        {
            Stream stream = client.GetStream();
            var reader = new StreamReader(stream, Encoding.ASCII);
            var writer = new StreamWriter(stream, Encoding.ASCII) { NewLine = "\r\n", AutoFlush = true };
            try
            {
                await writer.WriteLineAsync("220 localhost ESMTP scripted test server");
                string? from = null;
                var recipients = new List<string>();
                while (await reader.ReadLineAsync(stop.Token) is { } line)
                {
                    session.Commands.Enqueue(line.StartsWith("AUTH", StringComparison.OrdinalIgnoreCase) ? "AUTH" : line);
                    var verb = line.Split(' ', 2)[0].ToUpperInvariant();
                    switch (verb)
                    {
                        case "EHLO":
                            var lines = new List<string> { "localhost" };
                            if (OfferStartTls && !session.Tls)
                                lines.Add("STARTTLS");
                            if (session.Tls || !OfferStartTls)
                                lines.Add("AUTH PLAIN LOGIN");
                            lines.Add("8BITMIME");
                            for (var i = 0; i < lines.Count; i++)
                                await writer.WriteLineAsync($"250{(i < lines.Count - 1 ? '-' : ' ')}{lines[i]}");
                            break;
                        case "STARTTLS":
                            await writer.WriteLineAsync("220 2.0.0 Ready to start TLS");
                            var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                            await ssl.AuthenticateAsServerAsync(certificate, clientCertificateRequired: false, checkCertificateRevocation: false);
                            stream = ssl;
                            reader = new StreamReader(stream, Encoding.ASCII);
                            writer = new StreamWriter(stream, Encoding.ASCII) { NewLine = "\r\n", AutoFlush = true };
                            session.Tls = true;
                            break;
                        case "AUTH":
                            await AuthenticateAsync(line, reader, writer, session);
                            break;
                        case "MAIL":
                            from = Address(line);
                            recipients.Clear();
                            await writer.WriteLineAsync("250 2.1.0 Ok");
                            break;
                        case "RCPT":
                            var recipient = Address(line);
                            if (string.Equals(recipient, RefuseRecipient, StringComparison.OrdinalIgnoreCase))
                            {
                                await writer.WriteLineAsync($"550 5.1.1 <{recipient}>: Recipient address rejected: User unknown");
                            }
                            else
                            {
                                recipients.Add(recipient);
                                await writer.WriteLineAsync("250 2.1.5 Ok");
                            }

                            break;
                        case "DATA":
                            if (Interlocked.Decrement(ref temporaryFailuresLeft) >= 0)
                            {
                                await writer.WriteLineAsync("451 4.3.0 Temporary local problem, try again later");
                                break;
                            }

                            await writer.WriteLineAsync("354 End data with <CR><LF>.<CR><LF>");
                            var data = new StringBuilder();
                            while (await reader.ReadLineAsync(stop.Token) is { } dataLine && dataLine != ".")
                                data.Append(dataLine.StartsWith("..", StringComparison.Ordinal) ? dataLine[1..] : dataLine).Append("\r\n");
                            Received.Enqueue(new ReceivedMail(from ?? string.Empty, [.. recipients], data.ToString(), session.Tls, session.AuthenticatedUser));
                            await writer.WriteLineAsync("250 2.0.0 Ok: queued as TEST1");
                            break;
                        case "RSET":
                        case "NOOP":
                            await writer.WriteLineAsync("250 2.0.0 Ok");
                            break;
                        case "QUIT":
                            await writer.WriteLineAsync("221 2.0.0 Bye");
                            return;
                        default:
                            await writer.WriteLineAsync("502 5.5.2 Command not recognized");
                            break;
                    }
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
            {
                session.Error = e.Message;
            }
        }
    }

    private async Task AuthenticateAsync(string line, StreamReader reader, StreamWriter writer, Session session)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string user;
        string password;
        if (parts[1].Equals("PLAIN", StringComparison.OrdinalIgnoreCase))
        {
            var initial = parts.Length > 2 ? parts[2] : await Challenge(string.Empty);
            var fields = Encoding.UTF8.GetString(Convert.FromBase64String(initial)).Split('\0');
            (user, password) = (fields[1], fields[2]);
        }
        else
        {
            user = Encoding.UTF8.GetString(Convert.FromBase64String(parts.Length > 2 ? parts[2] : await Challenge("VXNlcm5hbWU6")));
            password = Encoding.UTF8.GetString(Convert.FromBase64String(await Challenge("UGFzc3dvcmQ6")));
        }

        if (user == UserName && password == Password)
        {
            session.AuthenticatedUser = user;
            await writer.WriteLineAsync("235 2.7.0 Authentication successful");
        }
        else
        {
            await writer.WriteLineAsync("535 5.7.8 Error: authentication failed");
        }

        async Task<string> Challenge(string prompt)
        {
            await writer.WriteLineAsync("334 " + prompt);
            return await reader.ReadLineAsync(stop.Token) ?? string.Empty;
        }
    }

    private static string Address(string line)
    {
        var start = line.IndexOf('<', StringComparison.Ordinal);
        var end = line.IndexOf('>', StringComparison.Ordinal);
        return start >= 0 && end > start ? line[(start + 1)..end] : string.Empty;
    }

    internal sealed class Session
    {
        public bool Tls { get; set; }

        public string? AuthenticatedUser { get; set; }

        public string? Error { get; set; }

        /// <summary>Commands as received (AUTH lines are recorded without their credentials).</summary>
        public ConcurrentQueue<string> Commands { get; } = new();
    }

    internal sealed record ReceivedMail(string From, IReadOnlyList<string> Recipients, string Data, bool OverTls, string? AuthenticatedUser);
}
