// The chat page: language switch, the rasa-webchat widget (web/dist/webchat.js), and the page's
// own safety and keyboard fixes for the widget's messages.
(function () {
  "use strict";

  var config = window.WALLONIA_CHAT_CONFIG || {};
  var RASA_URL = config.rasaUrl || "http://localhost:5005";
  var LANGUAGES = ["en", "fr"];
  var STORAGE_KEY = "wallonia-chat-language";
  var FORGOTTEN_PARAM = "forgotten";  // in the URL of the reload that follows "forget me"

  // The English texts are the page's own (index.html); only the French ones live here.
  var FRENCH = {
    "page-title": "Assistant des clusters de Wallonie",
    "skip-link": "Aller au chat",
    "heading": "Assistant des clusters de Wallonie",
    "intro-title": "Posez vos questions sur les clusters wallons",
    "intro-clusters": "La Wallonie compte des clusters d'entreprises et des pôles de compétitivité. " +
      "Demandez à l'assistant ce qu'ils sont, sur quoi chacun travaille et lequel convient à votre organisation.",
    "intro-examples-lead": "Vous pouvez par exemple demander :",
    "example-list": "« Quels sont les clusters ? »",
    "example-difference": "« Quelle est la différence entre un cluster et un pôle de compétitivité ? »",
    "example-fit": "« Quel cluster me convient ? »",
    "intro-keyboard": "Le chat s'utilise entièrement au clavier : tapez votre question puis Entrée ; " +
      "atteignez les réponses proposées avec Tab et choisissez-en une avec Entrée.",
    "privacy-title": "Vie privée",
    "privacy-stored": "Vos messages et les réponses de l'assistant sont conservés dans la base de données " +
      "de l'assistant, 90 jours par défaut, pour que la conversation puisse se poursuivre. Ce navigateur en " +
      "garde une copie pour que le chat survive au rechargement de la page.",
    "privacy-forget": "Pour effacer votre conversation, écrivez « oubliez-moi » (ou « forget me ») dans le chat.",
    "chat-title": "Discuter avec l'assistant",
    "chat-forgotten": "Votre conversation a été supprimée, chez l'assistant et dans ce navigateur. " +
      "Celle-ci est nouvelle."
  };

  var WIDGET_TEXTS = {
    en: {
      title: "Wallonia clusters assistant",
      inputTextFieldHint: "Type your question…",
      connectingText: "Connecting to the assistant…",
      messages: "Conversation with the assistant",
      input: "Your message",
      send: "Send",
      reply: "Suggested answer: "
    },
    fr: {
      title: "Assistant des clusters de Wallonie",
      inputTextFieldHint: "Tapez votre question…",
      connectingText: "Connexion à l'assistant…",
      messages: "Conversation avec l'assistant",
      input: "Votre message",
      send: "Envoyer",
      reply: "Réponse proposée : "
    }
  };

  var ENGLISH = {};
  var translatable = Array.prototype.slice.call(document.querySelectorAll("[data-i18n]"));
  translatable.forEach(function (element) {
    ENGLISH[element.getAttribute("data-i18n")] = element.textContent.replace(/\s+/g, " ").trim();
  });

  // One object for the widget's whole life: the widget keeps the reference it is given at start and
  // sends it with every message, so a language switch updates it in place.
  var customData = { language: initialLanguage() };
  var widgetElement = document.getElementById("webchat");

  function initialLanguage() {
    var fromUrl = new URLSearchParams(window.location.search).get("lang");
    if (LANGUAGES.indexOf(fromUrl) >= 0) return fromUrl;
    try {
      var stored = window.localStorage.getItem(STORAGE_KEY);
      if (LANGUAGES.indexOf(stored) >= 0) return stored;
    } catch (error) { /* storage may be disabled */ }
    return (navigator.language || "en").toLowerCase().indexOf("fr") === 0 ? "fr" : "en";
  }

  function applyPageLanguage(language) {
    var texts = language === "fr" ? FRENCH : ENGLISH;
    document.documentElement.lang = language;
    translatable.forEach(function (element) {
      var text = texts[element.getAttribute("data-i18n")];
      if (text) element.textContent = text;
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-language]"), function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-language") === language));
    });
  }

  function widgetProps(language) {
    var texts = WIDGET_TEXTS[language];
    return {
      socketUrl: RASA_URL,
      socketPath: "/socket.io/",
      customData: customData,
      initPayload: "/greet",
      title: texts.title,
      inputTextFieldHint: texts.inputTextFieldHint,
      connectingText: texts.connectingText,
      embedded: true,
      withRules: false,
      showCloseButton: false,
      showFullScreenButton: false,
      hideWhenNotConnected: false,
      docViewer: false,
      params: { storage: "local" },
      mainColor: "#123f6d",
      conversationBackgroundColor: "#ffffff",
      userTextColor: "#ffffff",
      userBackgroundColor: "#123f6d",
      assistTextColor: "#1b1b1b",
      assistBackgoundColor: "#eef1f5",
      customMessageDelay: function () { return 300; },
      onSocketEvent: { bot_uttered: onBotMessage }
    };
  }

  // --- "Forget me": the browser keeps nothing of a deleted conversation. -----------------------
  // Once the assistant has deleted the conversation it says so with {"conversation_forgotten": true}
  // (actions/privacy.py). The widget keeps the transcript and the session id in localStorage: the
  // page clears both storages (all but the language choice) and reloads, so that a new session
  // starts; the reload clears them again before the widget starts, in case the widget wrote since.
  function onBotMessage(message) {
    if (!message || message.conversation_forgotten !== true) return;
    clearStorage();
    var url = new URL(window.location.href);
    url.searchParams.set(FORGOTTEN_PARAM, "1");
    window.location.replace(url.pathname + url.search + url.hash);
  }

  function clearStorage() {
    try {
      var language = window.localStorage.getItem(STORAGE_KEY);
      window.localStorage.clear();
      window.sessionStorage.clear();
      if (language) window.localStorage.setItem(STORAGE_KEY, language);
    } catch (error) { /* storage may be disabled: then it kept nothing */ }
  }

  function afterForgetting() {
    var url = new URL(window.location.href);
    if (!url.searchParams.has(FORGOTTEN_PARAM)) return;
    clearStorage();
    url.searchParams.delete(FORGOTTEN_PARAM);
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
    document.getElementById("chat-forgotten").hidden = false;
  }

  function renderWidget() {
    if (!window.WebChat || typeof window.WebChat.default !== "function") {
      widgetElement.textContent = "The chat could not be loaded. / Le chat n'a pas pu être chargé.";
      return;
    }
    window.WebChat.default(widgetProps(customData.language), widgetElement);
  }

  function setLanguage(language) {
    if (LANGUAGES.indexOf(language) < 0 || language === customData.language) return;
    customData.language = language;
    try { window.localStorage.setItem(STORAGE_KEY, language); } catch (error) { /* ignore */ }
    var url = new URL(window.location.href);
    url.searchParams.set("lang", language);
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
    applyPageLanguage(language);
    renderWidget();
    labelWidget(widgetElement);
  }

  // --- Safety: no link in the chat may run script. ---------------------------------------------
  // rasa-webchat renders the assistant's messages as markdown with link sanitising switched off, so
  // `[x](javascript:…)` would become a javascript: link. Links with any scheme other than these lose
  // their href (the Content-Security-Policy of scripts/serve_web.py blocks them as well).
  var SAFE_SCHEMES = ["http:", "https:", "mailto:", "tel:"];

  function isSafeUrl(value) {
    try {
      return SAFE_SCHEMES.indexOf(new URL(value, window.location.href).protocol) >= 0;
    } catch (error) {
      return false;
    }
  }

  function neutraliseLinks(root) {
    var links = root.querySelectorAll ? root.querySelectorAll("a[href], area[href]") : [];
    if (root.matches && root.matches("a[href], area[href]")) links = [root].concat(Array.prototype.slice.call(links));
    Array.prototype.forEach.call(links, function (link) {
      if (!isSafeUrl(link.getAttribute("href"))) {
        link.removeAttribute("href");
        link.setAttribute("data-unsafe-link", "removed");
      } else if (link.target === "_blank") {
        link.rel = "noopener noreferrer";
      }
    });
    var embeds = root.querySelectorAll ? root.querySelectorAll("iframe, object, embed, script") : [];
    Array.prototype.forEach.call(embeds, function (element) { element.remove(); });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a");
    if (link && link.hasAttribute("href") && !isSafeUrl(link.getAttribute("href"))) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);

  // --- Accessibility: names and keyboard access for the widget's controls. ----------------------
  function labelWidget(root) {
    var texts = WIDGET_TEXTS[customData.language];
    var messages = root.querySelector(".rw-messages-container");
    if (messages) {
      messages.setAttribute("role", "log");
      messages.setAttribute("aria-live", "polite");
      messages.setAttribute("aria-label", texts.messages);
      messages.setAttribute("tabindex", "0");
    }
    var input = root.querySelector(".rw-new-message");
    if (input) input.setAttribute("aria-label", texts.input);
    var send = root.querySelector(".rw-send");
    if (send) {
      send.setAttribute("aria-label", texts.send);
      send.setAttribute("title", texts.send);
    }
    Array.prototype.forEach.call(root.querySelectorAll("div.rw-reply"), function (reply) {
      if (reply.getAttribute("role") !== "button") reply.setAttribute("role", "button");
      if (reply.getAttribute("tabindex") !== "0") reply.setAttribute("tabindex", "0");
    });
    Array.prototype.forEach.call(root.querySelectorAll(".rw-send-icon, .rw-send-icon-ready, .rw-avatar"), function (icon) {
      icon.setAttribute("aria-hidden", "true");
      if (icon.tagName === "IMG") icon.setAttribute("alt", "");
    });
  }

  // Quick replies are <div>s with a click handler: Enter and Space activate them too.
  widgetElement.addEventListener("keydown", function (event) {
    var reply = event.target.closest && event.target.closest("div.rw-reply");
    if (reply && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      reply.click();
      var input = widgetElement.querySelector(".rw-new-message");
      if (input) input.focus();
    }
  });

  var observer = new MutationObserver(function (mutations) {
    mutations.forEach(function (mutation) {
      if (mutation.type === "attributes") {
        neutraliseLinks(mutation.target);
      } else {
        Array.prototype.forEach.call(mutation.addedNodes, function (node) {
          if (node.nodeType === 1) neutraliseLinks(node);
        });
      }
    });
    labelWidget(widgetElement);
  });
  observer.observe(widgetElement, {
    childList: true, subtree: true, attributes: true, attributeFilter: ["href"]
  });

  Array.prototype.forEach.call(document.querySelectorAll("[data-language]"), function (button) {
    button.addEventListener("click", function () { setLanguage(button.getAttribute("data-language")); });
  });

  afterForgetting();
  applyPageLanguage(customData.language);
  renderWidget();
})();
