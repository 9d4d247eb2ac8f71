using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Notifications;

// SafeToRerun: a repeat can at worst send the mail twice, with the same Message-ID (derived from the
// execution id), which lets mail systems and clients recognise the copy; recovery is not held for it.
[Activity("DrWorkflows", "Notifications", "Sends an email (text and optional HTML body) to several recipients through the configured SMTP relay.", SafeToRerun = true, Outcomes = [Outcomes.Done, FailedOutcome])]
public sealed class SendEmail : NotificationActivity
{
    [Input(Description = "Recipients, one per line or comma-separated; default Notifications:Email:DefaultRecipients.")]
    public Input<List<string>>? To { get; set; }

    [Input(Description = "Copy recipients.")]
    public Input<List<string>>? Cc { get; set; }

    [Input(Description = "Subject with {{name}} placeholders.", Required = true)]
    public Input<string>? Subject { get; set; }

    [Input(Description = "Plain-text body with {{name}} placeholders.", UIHint = InputUIHints.MultiLine, Required = true)]
    public Input<string>? TextBody { get; set; }

    [Input(Description = "HTML body with {{name}} placeholders (values are HTML-encoded), optional.", UIHint = InputUIHints.MultiLine)]
    public Input<string>? HtmlBody { get; set; }

    [Output(Description = "The Message-ID of the sent email.")]
    public Output<string> MessageId { get; set; } = new();

    protected override async ValueTask SendAsync(ActivityExecutionContext context)
    {
        var sender = context.GetRequiredService<IEmailSender>();
        var html = context.Get(HtmlBody);
        var receipt = await sender.SendAsync(
            new EmailMessage
            {
                To = context.Get(To) ?? [],
                Cc = context.Get(Cc) ?? [],
                Subject = Render(context, Subject),
                TextBody = Render(context, TextBody),
                HtmlBody = string.IsNullOrWhiteSpace(html) ? null : Render(context, HtmlBody, TemplateEscaping.Html),
                MessageId = $"{context.ExecutionId}.{context.WorkflowInstanceId}@drworkflows",
            },
            context.CancellationToken);
        context.AddJournalData("email", new JsonObject
        {
            ["messageId"] = receipt.MessageId,
            ["recipients"] = new JsonArray([.. receipt.Recipients.Select(r => (JsonNode?)JsonValue.Create(r))]),
        });
        context.Set(MessageId, receipt.MessageId);
    }
}
