"""The Korean lexicon behind the detectors: bank names, and for person names the surnames, cue words
and ordinary words that begin with a surname syllable. Data only."""

from __future__ import annotations

#: Bank names (and short forms) that mark a nearby number as an account.
BANK_NAMES = (
    "국민",
    "KB",
    "신한",
    "우리",
    "하나",
    "농협",
    "NH",
    "기업",
    "IBK",
    "카카오",
    "토스",
    "케이뱅크",
    "K뱅크",
    "SC제일",
    "제일은행",
    "새마을",
    "우체국",
    "수협",
    "부산은행",
    "대구은행",
    "경남은행",
    "광주은행",
    "전북은행",
    "제주은행",
    "씨티",
    "신협",
    "산업은행",
    "iM뱅크",
    "은행",
)

#: The common one-syllable surnames, plus a few rarer ones (표, 육, 탁, 봉) that are seldom everyday
#: syllables (rare surnames that are also everyday syllables, such as 예 or 기, are left out: they
#: cost more false positives than they find names).
SURNAMES = frozenset(
    "김이박최정강조윤장임한오서신권황안송류유전홍고문양손배백허남심노하곽성차주우구민진나지엄채원천방공현함변염여추"
    "도소석선연제표육탁봉"
)
COMPOUND_SURNAMES = ("남궁", "황보", "제갈", "선우", "독고", "사공", "서문", "동방")

#: Ordinary words that begin with a surname syllable (foods, adverbs, everyday nouns, banks, places).
#: A candidate that is one of these, or one of these plus an ending (이름을, 조리중, 주문한), is no name.
STOPWORDS = frozenset(
    """
김치 김밥 김말이 김가루 이번 이거 이건 이게 이것 이제 이상 이하 이용 이름 이전 이후 이미 이쪽 이렇게 이런 이유 이벤트 이모
박스 박하 박사 정말 정도 정리 정보 정확 정상 정식 정류장 정산 조금 조리 조심 조용 조만간 조회 최고 최대 최소 최근 최악
최종 최선 강력 강추 강의 한번 한우 한식 한분 한개 한잔 한정 한참 한국 한테 한진 신선 신라면 신청 신경 신규 신용 신한 오늘
오징어 오후 오전 오랜만 오래 오류 오이 전화 전복 전복죽 전체 전부 전혀 전달 전에 전날 주문 주소 주말 주의 주세요 주시 주신
배달 배송 배민 배고 배부 고기 고객 고등어 고추 고민 고생 고마 고맙 문의 문자 문제 문앞 안녕 안내 안쪽 안에 홍합 홍보 양념
양파 양이 양도 손님 기사 사장 사진 사용 사랑 사과 사이 우리 우유 우동 하나 하루 하고 하면 국민 국물 남자 남은 남편 여자 여기
여러 유리 유자 유통 서비스 서울 성함 성공 차가 차이 구매 구성 민원 진짜 진행 나중 나물 지금 지난 지역 원래 원하 천천 방금
방문 공지 공동 현관 현금 함께 변경 연락 연어 도착 도시락 소스 소고기 소금 송장 장소 장조림 임시 황금 허니 심심 노력 채소 추가
추천 장님 차액 지원서 연락처 우체국 전화번호 휴대폰 계좌번호 주민번호 카드번호 여권번호 면허번호 송장번호
주문번호 신한은행 우리은행 하나은행 국민은행 농협은행 기업은행 부산은행 대구은행 광주은행 전북은행 제주은행 수협은행 신협
새마을 카카오 토스 케이뱅크 고객센터 대표번호 문의처 연락번호 제일 제육 제품 석쇠 선물 설명 도우 지연 지원 지도 지갑 최저 한달 오배송 주차 조각 정성 신메뉴 강남 안심 고추장
신상 신상품 신제품 신메뉴 우수 우선 우편 우편번호 이동 이사 이상해 공사 공원 공기밥 공짜 연결 연락처 전송 정문 후문 정가 정상가
강아지 고양이 오빠 남친 여친 남동생 여동생 조카 손자 손녀 이웃 주민 주민센터 주인 원룸 차량 차로 지하 지하철 진동 진심 문앞
한시간 한그릇 한마리 한판 한통 한봉지 한세트 한박스 한줄 한번만 한꺼번에 오배달 배달비 배달팁 배송비 배송지 배송중 조리중 주문서
주문자 주문건 주문량 결제 정산서 신용카드 체크카드 현금영수증 영수증 전자 전자영수증 송금 입금 안전 안전번호 안심번호 조금만
정자동 정자로 성남 성남시 강남구 송파구 서초구 강서구 강동구 노원구 양천구 성북구 성동구 도봉구 은평구 구로구 용산구 마포구
진주 진주시 전주 전주시 천안 천안시 안양 안양시 원주 원주시 제주 제주시 고양 고양시 남양주 하남 하남시 여의도 신림 신촌 홍대
석촌 한강 한남 방배 서면 해운대 연수구 송도 송도동 장항동 일산 분당 분당구 용인 수지 구미 구리 오산 안산 안성 김포 김해 양산
이메일 신분증 공무원 여러분 임직원 조합원 서귀포 유방암 차년도 진흥원 주미국 진료분 신고됨 소유의 이메일로
육개장 육회 육수 육포 표시 표기 봉지 봉투 탁송 신라 황태 한라봉 진라면 오뎅 어묵 소주 맥주 우삼겹 차돌 차돌박이 고구마 감자
""".split()
)

#: Roles, titles and kinship words that take 님 or 씨 but are not names ("선배님", "여사님", "장모님").
TITLES = frozenset(
    """
선배 후배 여사 차장 이사 상무 전무 부장 과장 대리 주임 사원 사장 원장 소장 지점장 점장 실장 팀장 반장 조장 회장 대표 이장 통장
기사 배달원 배송원 배달기사 배송기사 라이더 상담원 상담사 조리사 요리사 주방장 관리자 관리인 경비 경비원 직원 알바 선생 교수
박사 의사 간호사 약사 변호사 세무사 노무사 목사 신부 수녀 스님 도사 주인 손님 고객 회원 구매자 주문자 판매자 수령자 신청자
공주 왕자 천사 신랑 하느님 임금 장군 조상 선조 차주 집주인 주무관 도우미 고수 기사분 반장
고모 이모 삼촌 숙모 장모 장인 시모 시부 조카 손자 손녀 사모 형님 오빠 언니 누나 동생 남편 아내 아드님 따님 자제분 부모 선생
""".split()
)

#: The part after a surname that makes a role, not a given name ("김사장님", "박기사님").
ROLE_WORDS = frozenset(
    {"님", "씨", "고객", "사장", "기사", "회원", "대리", "과장", "부장", "선생", "실장", "팀장", "차장", "이사"}
)

#: Honorific endings of a run that mark the name before them ("김민수님", "박지영 씨가"), longer first.
HONORIFIC_CUES = (
    "고객님께서",
    "고객님께",
    "고객님이",
    "고객님은",
    "고객님",
    "회원님",
    "기사님",
    "선생님",
    "님께서",
    "님께",
    "님이",
    "님은",
    "님의",
    "님",
    "씨가",
    "씨는",
    "씨한테",
    "씨",
    "고객",
    "회원",
    "담당자",
)
#: Copula endings ("박지영입니다"): a name only at the start of a sentence or after a lead such as
#: 안녕하세요 or 저는 (``COPULA_LEADS``), since any noun takes them (조리중입니다, 오천원인데요).
COPULA_CUES = (
    "이었습니다",
    "였습니다",
    "이었어요",
    "였어요",
    "입니다",
    "이에요",
    "예요",
    "이고요",
    "인데요",
    "이라고",
    "라고",
    "이요",
)
#: Particles that mark a person as the receiver ("박지영한테", "김민수에게").
ANIMATE_CUES = ("한테서", "에게서", "한테", "에게", "께서", "께")
#: Words right before a copula name ("안녕하세요 김민수입니다", "저 윤하늘인데요").
COPULA_LEADS = frozenset({"안녕하세요", "안녕하십니까", "반갑습니다", "수고하세요", "저", "저는", "제가", "네", "예"})
#: Endings of the word before a copula name ("받는 분은 이서연이에요", "주문한 김민수인데요").
COPULA_LEAD_ENDINGS = ("분은", "사람은", "이름은", "성함은", "자는", "주는", "인은", "한")
#: Words after a separate name token ("김민수 고객님", "오세훈 기사입니다", "김민수 이름으로").
FOLLOWING_HONORIFICS = ("고객님", "고객", "회원님", "손님", "님", "씨")
#: Of those, the ones that also follow two-syllable names ("김건 님"; but "진상 고객" is no name).
SHORT_NAME_HONORIFICS = ("님", "씨")
#: Words that start like an honorific but are not one ("신세계 고객센터").
NOT_HONORIFICS = ("고객센터", "고객 센터", "고객지원", "고객상담", "고객만족", "회원가입", "회원 가입")
FOLLOWING_CUES = (
    "기사",
    "담당자",
    "상담원",
    "상담사",
    "매니저",
    "라이더",
    "과장",
    "대리",
    "팀장",
    "부장",
    "실장",
    "차장",
    "사장",
    "선생님",
    "드림",
    "올림",
    "이름으로",
    "명의로",
    "앞으로",
    "(인)",
    "(서명)",
    "(印)",
    "배상",
    "원장",
    "본부장",
    "사무관",
    "주무관",
    "조사관",
    "수사관",
    "교수",
    "정교수",
    "박사",
    "변호사",
    "간호사",
    "책임",
    "선임",
    "수석",
    "연구원",
    "이사",
    "상무",
    "전무",
    "부사장",
    "회장",
    "위원장",
    "국장",
    "경위",
    "경사",
    "서명",
)
#: Labels before a name ("예금주 박지영", "받는 분: 이서연").
PRECEDING_CUES = (
    "예금주",
    "받는 분",
    "받는분",
    "받으실 분",
    "받는 사람",
    "받는사람",
    "보내는 사람",
    "보내는사람",
    "보내는 분",
    "보내는분",
    "수령인",
    "수령자",
    "수취인",
    "수취인명",
    "주문자",
    "주문자명",
    "예약자",
    "예약자명",
    "입금자",
    "입금자명",
    "송금인",
    "송금자",
    "고객명",
    "대표자",
    "대표",
    "성명",
    "이름",
    "성함",
    "담당자",
    "기사님",
    "배달기사",
    "라이더",
    "저는",
    "제 이름은",
    # roles and field labels in forms, letters, court and medical documents (신청인: 김영희, 판사 오승준)
    *"""
신청인 피신청인 진술인 신고인 민원인 청구인 제출자 작성자 작성 확인자 등록자 계약자 가입자 피보험자 수익자 소유자
명의자 세대주 가구주 보호자 친권자 후견인 대리인 위임인 수임인 임대인 임차인 세입자 집주인 채무자 채권자 원고 피고
피고인 증인 참고인 판사 재판장 검사 변호인 변호사 지점장 점장 점주 사장 대표이사 이사 감사 위원 위원장 간사 회장
본부장 국장 과장 부장 팀장 실장 원장 사무관 주무관 조사관 수사관 경위 경사 경감 교수 지도교수 담임 담당 담당의
처리담당 주치의 전문의 간호사 상담사 상담원 매니저 MD PD 배달원 운전자 근로자 환자 환자명 수검자 수검자명 지원자
지원자명 후보자 후보자명 등록자명 회원 회원명 고객 전결 배우자 자녀 며느리 사위 아들 딸 부친 모친 남편 아내 면담자
피면담자 관리자 책임자 발신 발신자 수신 수신자 참조 결재 승인자 검토자 서명 동의자 근무자 당사자 운전자명
""".split(),
)
#: Field names (of JSON, YAML, CSV headers; lower case, ``_``/``-`` removed) that label a person's name
#: when a colon follows them (``"customer_name": "김도현"``, ``recipient: 이서연``).
ENGLISH_NAME_LABELS = frozenset(
    """
name fullname firstname lastname givenname familyname surname username customer customername recipient
recipientname receiver receivername sender sendername accountholder holdername depositor depositorname
contactname ridername drivername couriername patient patientname applicant applicantname membername
guestname ordername orderer orderername personname
""".split()
)
#: Last syllables of a field label that names a person when a colon follows it ("수검자명: 정해린", "운전자: 오세훈").
LABEL_ENDINGS = ("인", "자", "명", "원", "장", "관", "사", "의", "주")
#: Last syllables of an organisational unit right before a name ("운영팀 고민지", "비서실 정유미").
UNIT_ENDINGS = ("팀", "비서실")
#: After "김민수가" / "김민수는": words that make the run a person ("김민수가 대신 받을 거예요").
AGENT_CUES = ("대신",)
#: Copula forms that stand alone after a number ("01012345678901 이에요"): never a name there.
COPULA_FORMS = ("이에", "이요", "이고", "이라", "이래", "이며", "이면", "이었", "이랑", "이지", "이니")
#: Particles stripped from the end of a name token ("김민수가" → "김민수").
PARTICLES = (
    "으로",
    "에게",
    "한테",
    "께서",
    "이고",
    "이며",
    "이가",
    "이는",
    "이를",
    "의",
    "이",
    "가",
    "은",
    "는",
    "을",
    "를",
    "로",
    "께",
)
#: Particles whose form depends on the syllable before: the first only after a final consonant
#: (batchim), the second only after a vowel ("이름을" but "정보를"; "이하은" is a name, not 이하+은).
PAIRED_PARTICLES = (("은", "는"), ("이", "가"), ("을", "를"), ("과", "와"), ("으로", "로"), ("이랑", "랑"))
#: Endings that attach to an ordinary word in any case ("이번에", "조리중", "주문한", "배송지도").
WORD_ENDINGS = frozenset("에 의 도 만 중 한 할 된 될 해 했 하 들 쯤 째 용 별 라 고".split())

#: Sino-Korean and native number syllables, and the units after them ("오천원", "이만원", "한시간").
NUMBER_SYLLABLES = frozenset("일이삼사오육칠팔구십백천만억")
NATIVE_NUMBERS = ("한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉", "열")
UNITS = (
    "원",
    "개",
    "명",
    "번",
    "시",
    "분",
    "층",
    "호",
    "동",
    "살",
    "잔",
    "판",
    "통",
    "장",
    "인분",
    "시간",
    "그릇",
    "마리",
    "봉지",
    "세트",
    "박스",
    "개월",
    "달",
    "주",
    "년",
    "월",
    "일",
    "줄",
)
#: Last syllables of places and shops ("강남구", "신촌점", "정자로", "김가네", "오봉집"): a weak cue never makes them names.
PLACE_ENDINGS = frozenset("시 구 군 읍 면 로 길 역 점 관 네 집 실 팀 과 청 처".split())

#: Romanised Korean surnames (Revised Romanization and the common older spellings).
ROMAN_SURNAMES = frozenset(
    """
Kim Gim Lee Yi Rhee Park Pak Bak Choi Choe Jung Jeong Chung Kang Gang Cho Jo Yoon Yun Jang Chang
Lim Im Han Oh Seo Suh Shin Sin Kwon Gwon Hwang Ahn An Song Ryu Yoo Yu Jeon Jun Chun Hong Ko Go Moon
Mun Yang Son Sohn Bae Baek Paik Heo Huh Nam Sim Shim Noh Roh No Ha Kwak Gwak Sung Seong Cha Joo Ju
Woo Koo Ku Min Jin Na Ji Uhm Eom Chae Won Cheon Bang Gong Hyun Hyeon Ham Byun Byeon Yeom Yeo Choo
Chu Do So Seok Sun Yeon Je Pyo Yuk Tak Bong Namgung Hwangbo Jegal Sunwoo Seonu Dokgo Sagong Seomun
""".split()  # noqa: SIM905
)
#: Surnames that are also everyday English words: as a name they need a cue ("Do Not", "Go Home").
ROMAN_COMMON = frozenset(
    "An Im Do So Go Ha Na No Ju Je Sun Song Moon Bang Gong Han Jin Min Won Ham Son Chu Ko Yu Ji".split()
)  # noqa: SIM905
