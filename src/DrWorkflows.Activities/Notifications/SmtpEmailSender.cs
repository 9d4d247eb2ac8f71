using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MimeKit;
using Polly;

namespace DrWorkflows.Activities.Notifications;

/// <summary>An email to send: a text body, optionally an HTML alternative, to several recipients.</summary>
public sealed record EmailMessage
{
    public required IReadOnlyList<string> To { get; init; }

    public IReadOnlyList<string> Cc { get; init; } = [];

    public required string Subject { get; init; }

    public required string TextBody { get; init; }

    public string? HtmlBody { get; init; }

    /// <summary>Message-ID to use (without angle brackets); a stable one lets mail systems drop a re-sent copy.</summary>
    public string? MessageId { get; init; }
}

/// <summary>What the server accepted.</summary>
public sealed record EmailReceipt(string MessageId, IReadOnlyList<string> Recipients, string? ServerResponse);

public interface IEmailSender
{
    Task<EmailReceipt> SendAsync(EmailMessage message, CancellationToken cancellationToken);
}

/// <summary>
/// Sends through an SMTP relay with MailKit: STARTTLS (required by default) or implicit TLS, optional login.
/// Connection failures and temporary (4xx) replies are retried; permanent refusals (5xx, failed login, no
/// STARTTLS) fail at once with the server's reply.
/// </summary>
internal sealed class SmtpEmailSender : IEmailSender
{
    private readonly EmailOptions options;
    private readonly ILogger<SmtpEmailSender> logger;
    private readonly ResiliencePipeline retry;

    public SmtpEmailSender(IOptions<NotificationsOptions> options, TimeProvider clock, ILogger<SmtpEmailSender> logger)
    {
        this.options = options.Value.Email;
        this.logger = logger;
        retry = NotificationRetry.Create(clock, this.options.MaxAttempts, this.options.RetryDelay, TimeSpan.MaxValue, logger, NotificationChannels.Email);
    }

    public async Task<EmailReceipt> SendAsync(EmailMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!options.IsConfigured)
            throw Permanent("Email is not configured: set Notifications:Email:Host (and From, UserName, Password).", "email.not-configured");
        var mime = Build(message);
        var recipients = mime.To.Mailboxes.Concat(mime.Cc.Mailboxes).Select(m => m.Address).ToList();
        var response = await retry.ExecuteAsync(
            $"Email '{message.Subject}' through {options.Host}:{options.Port}",
            ct => SendOnceAsync(mime, ct),
            cancellationToken);
        var messageId = mime.MessageId ?? string.Empty;
        Log.EmailSent(logger, messageId, recipients.Count, options.Host!, options.Port);
        return new EmailReceipt(messageId, recipients, response);
    }

    private MimeMessage Build(EmailMessage message)
    {
        var mime = new MimeMessage();
        mime.From.Add(new MailboxAddress(options.FromName ?? string.Empty, Address(options.From, "Notifications:Email:From")));
        var to = message.To.Count > 0 ? message.To : options.DefaultRecipients;
        foreach (var address in to.Where(a => !string.IsNullOrWhiteSpace(a)))
            mime.To.Add(MailboxAddress.Parse(Address(address, "recipient")));
        foreach (var address in message.Cc.Where(a => !string.IsNullOrWhiteSpace(a)))
            mime.Cc.Add(MailboxAddress.Parse(Address(address, "cc recipient")));
        if (mime.To.Count == 0)
            throw Permanent("The email has no recipient: give To, or set Notifications:Email:DefaultRecipients.", "email.no-recipient");
        mime.Subject = message.Subject;
        if (!string.IsNullOrWhiteSpace(message.MessageId))
            mime.MessageId = message.MessageId;
        var body = new BodyBuilder { TextBody = message.TextBody };
        if (!string.IsNullOrWhiteSpace(message.HtmlBody))
            body.HtmlBody = message.HtmlBody;
        mime.Body = body.ToMessageBody();
        return mime;
    }

    private async Task<string?> SendOnceAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        using var client = new SmtpClient { Timeout = (int)Math.Min(int.MaxValue, options.Timeout.TotalMilliseconds) };
        if (!string.IsNullOrWhiteSpace(options.ServerCertificateSha256))
            client.ServerCertificateValidationCallback = ValidateCertificate;
        var where = $"{options.Host}:{options.Port}";
        try
        {
            await client.ConnectAsync(options.Host!, options.Port, SocketOptions(), cancellationToken);
            if (!string.IsNullOrEmpty(options.UserName))
                await client.AuthenticateAsync(options.UserName, options.Password ?? string.Empty, cancellationToken);
            var response = await client.SendAsync(message, cancellationToken);
            await client.DisconnectAsync(quit: true, cancellationToken);
            return response;
        }
        catch (SmtpCommandException e)
        {
            var code = (int)e.StatusCode;
            var what = e.ErrorCode switch
            {
                SmtpErrorCode.RecipientNotAccepted => $"refused the recipient {e.Mailbox}",
                SmtpErrorCode.SenderNotAccepted => $"refused the sender {e.Mailbox}",
                SmtpErrorCode.MessageNotAccepted => "refused the message",
                _ => "refused a command",
            };
            var temporary = code is >= 400 and < 500;
            throw new NotificationException(
                $"SMTP server {where} {what} with {code} {e.Message.Trim()}.{(temporary ? " This is temporary; it was retried." : " Check the addresses and the relay's policy.")}",
                NotificationChannels.Email,
                temporary,
                e)
            { Code = "email.refused", ServiceError = code.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        }
        catch (AuthenticationException e)
        {
            throw Permanent($"SMTP server {where} refused the login of '{options.UserName}': {e.Message} Check Notifications:Email:UserName and Notifications:Email:Password.", "email.auth", e);
        }
        catch (SslHandshakeException e)
        {
            throw Permanent($"TLS with SMTP server {where} failed: {e.Message} Check the server's certificate, or pin it with Notifications:Email:ServerCertificateSha256.", "email.tls", e);
        }
        catch (NotSupportedException e)
        {
            throw Permanent($"SMTP server {where}: {e.Message} Set Notifications:Email:Security to the mode the server offers (StartTls, SslOnConnect, Auto, None).", "email.unsupported", e);
        }
        catch (Exception e) when (e is SocketException or IOException or SmtpProtocolException or ServiceNotConnectedException or TimeoutException
                                   || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new NotificationException($"Could not talk to SMTP server {where}: {e.Message}", NotificationChannels.Email, retryable: true, e) { Code = "email.unreachable" };
        }
    }

    private SecureSocketOptions SocketOptions() => options.Security.Trim().ToUpperInvariant() switch
    {
        "STARTTLS" => SecureSocketOptions.StartTls,
        "SSLONCONNECT" or "TLS" => SecureSocketOptions.SslOnConnect,
        "AUTO" => SecureSocketOptions.Auto,
        "NONE" => SecureSocketOptions.None,
        _ => throw Permanent($"Notifications:Email:Security '{options.Security}' is not one of StartTls, SslOnConnect, Auto, None.", "email.security"),
    };

    private bool ValidateCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
            return true;
        return certificate is not null
            && string.Equals(
                Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(certificate.GetRawCertData())),
                options.ServerCertificateSha256!.Replace(":", string.Empty, StringComparison.Ordinal).Trim(),
                StringComparison.OrdinalIgnoreCase);
    }

    private static string Address(string? address, string what) =>
        MailboxAddress.TryParse(address, out var parsed) && parsed.Address.Contains('@', StringComparison.Ordinal)
            ? parsed.Address
            : throw Permanent($"'{address}' is not a valid email address ({what}).", "email.address");

    private static NotificationException Permanent(string message, string code, Exception? inner = null) =>
        new(message, NotificationChannels.Email, retryable: false, inner) { Code = code };
}
