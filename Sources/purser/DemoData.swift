import Foundation

/// The sailing school of the seed (PRODUCT_BRIEF.md): Segelschule am Stettiner Haff, German with
/// English, its FAQ, a knowledge document, a few contacts, courses and bookings, and a short
/// conversation on WhatsApp and email. Embedded so `purser demo` needs nothing but the binary.
enum DemoData {
    static let org = "haff"
    static let whatsappNumber = "+4939771234567"
    static let email = "info@segelschule-haff.de"

    static let agentConfig = """
    {"type":"org_agent","subtype":"primary","organizationId":"haff","name":"Sailing School Assistant","status":"active",
     "customProperties":{"displayName":"Haff Assistant","personality":"friendly, professional, nautical terminology",
      "language":"de","additionalLanguages":["en"],"brandVoiceInstructions":"Always sign off with 'Mast- und Schotbruch!'",
      "systemPrompt":"You are the AI assistant for Segelschule am Stettiner Haff, a sailing school on the Stettin Lagoon. You help customers with courses, prices, dates and bookings.",
      "knowledgeDocIds":["doc_revier"],
      "faqEntries":[
        {"q":"Wo finde ich euch?","a":"Ihr findet uns am Stettiner Haff, direkt am Hafen von Ueckermünde (Am Hafen 3, 17373 Ueckermünde). Mast- und Schotbruch!"},
        {"q":"Was kostet der SBF Binnen?","a":"Der Kurs zum Sportbootführerschein Binnen (SBF Binnen) kostet 450 € inklusive Lehrmaterial; die Prüfungsgebühr kommt hinzu. Mast- und Schotbruch!"},
        {"q":"Wann beginnt der nächste SBF-Kurs?","a":"Der nächste SBF-Binnen-Kurs beginnt am Samstag, 28. November, um 9 Uhr. Mast- und Schotbruch!"},
        {"q":"Do you offer courses in English?","a":"Yes! Our SBF Binnen and sailing courses are also taught in English on request. Mast- und Schotbruch!"}
      ],
      "enabledTools":["crm_tool","booking_tool","data_query_tool","knowledge_tool","handoff_tool"],"disabledTools":["bulk_crm_email_tool"],
      "autonomyLevel":"supervised","maxMessagesPerDay":100,"maxCostPerDay":5.0,
      "requireApprovalFor":["bulk_email","delete_contact","financial"],"blockedTopics":["competitor pricing","legal advice"],
      "modelProvider":"anthropic","modelId":"claude-sonnet-4-20250514","temperature":0.7,"maxTokens":4096,
      "channelBindings":[{"channel":"whatsapp","enabled":true,"address":"+4939771234567"},
                         {"channel":"email","enabled":true,"address":"info@segelschule-haff.de"},
                         {"channel":"webchat","enabled":true,"address":"haff-web"},
                         {"channel":"instagram_dm","enabled":false}]}}
    """

    /// Ontology objects and links, as `purser objects import` reads them.
    static let objects = """
    {"id":"course_sbf","type":"product","subtype":"course","name":"SBF Binnen","status":"active","customProperties":{"price":450.0,"currency":"EUR","nextStart":"2026-11-28T09:00:00Z"},"createdAt":"2026-01-10T09:00:00Z"}
    {"id":"course_jolle","type":"product","subtype":"course","name":"Jollensegeln Grundkurs","status":"active","customProperties":{"price":390.0,"currency":"EUR"},"createdAt":"2026-01-10T09:00:00Z"}
    {"id":"doc_revier","type":"knowledge_doc","name":"Unser Revier","status":"active","customProperties":{"text":"Das Stettiner Haff ist ein flaches, geschütztes Revier: ideal für Einsteiger. Gesegelt wird von April bis Oktober; Theoriekurse laufen ganzjährig."},"createdAt":"2026-01-10T09:00:00Z"}
    {"id":"c_17","type":"crm_contact","subtype":"customer","name":"Max Mustermann","status":"active","customProperties":{"phone":"+491701234567","country":"DE","totalSpent":390.0},"createdAt":"2025-03-01T09:00:00Z"}
    {"id":"c_18","type":"crm_contact","subtype":"lead","name":"Lisa Kowalski","status":"active","customProperties":{"email":"lisa.k@example.org","country":"PL"},"createdAt":"2026-10-02T09:00:00Z"}
    {"id":"b_90","type":"booking","name":"Jollensegeln Grundkurs, Max","status":"completed","customProperties":{"resourceId":"course_jolle","startsAt":"2026-06-06T09:00:00Z","endsAt":"2026-06-07T17:00:00Z","price":390.0,"currency":"EUR"},"createdAt":"2026-05-01T09:00:00Z"}
    {"link":{"from":"c_17","to":"b_90","linkType":"bookings"}}
    """

    /// The conversation, as a channel adapter would hand it to `purser ingest` (JSON Lines).
    static let conversation = """
    {"channel":"whatsapp","to":"+4939771234567","from":"+49 170 1234567","text":"Moin! Was kostet der SBF Binnen bei euch?","externalMessageId":"wamid.demo.1","receivedAt":"2026-11-25T14:15:04Z","contactName":"Max Mustermann"}
    {"channel":"whatsapp","to":"+4939771234567","from":"+49 170 1234567","text":"Und wann beginnt der nächste SBF-Kurs?","externalMessageId":"wamid.demo.2","receivedAt":"2026-11-25T14:16:10Z","contactName":"Max Mustermann"}
    {"channel":"email","to":"info@segelschule-haff.de","from":"Lisa.K@example.org","text":"Hi, do you offer courses in English?","externalMessageId":"<demo-3@example.org>","receivedAt":"2026-11-25T14:20:00Z","contactName":"Lisa Kowalski","subject":"Sailing course"}
    {"channel":"whatsapp","to":"+4939771234567","from":"+491609876543","text":"Was nimmt denn die Konkurrenz so? Also competitor pricing?","externalMessageId":"wamid.demo.4","receivedAt":"2026-11-25T14:25:00Z","contactName":"Jan"}
    {"channel":"webchat","to":"haff-web","from":"visitor-4711","text":"Kann ich mein Boot bei euch im Winter einlagern?","externalMessageId":"web.demo.5","receivedAt":"2026-11-25T14:28:00Z"}
    not a message at all
    """
}
